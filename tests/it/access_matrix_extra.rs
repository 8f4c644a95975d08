//! Entries of the role × route matrix for the routes of other feature areas
//! (public form, follow-up space, interconnections, ...): each area appends
//! its routes here, with the expected answer for anonymous, agent, partner
//! admin, territory admin and super admin.

use crate::common::TestApp;

type Expect = crate::access::MatrixExpect;

use crate::access::MatrixExpect::{Allowed as A, Forbidden as F, Login as L};

pub static EXTRA: &[(&str, &str, [Expect; 5])] = &[
    // Interconnections (worker issue).
    ("GET", "/bo/interconnexions", [L, F, F, A, A]),
    ("POST", "/bo/interconnexions/{id}/relancer", [L, F, F, A, A]),
    // Prometheus figures: no role, only the bearer of METRICS_TOKEN (404
    // here: the tests configure no token; tests/it/worker/operations.rs).
    ("GET", "/metrics", [A, A, A, A, A]),
    // Development mailbox (404 in production; tests run as `test`).
    ("GET", "/dev/courriels", [A, A, A, A, A]),
    ("GET", "/dev/courriels/{id}", [A, A, A, A, A]),
    // Map, statistics and exports (without parameters: a 400 is an answer).
    ("GET", "/bo/cartographie", [L, A, A, A, A]),
    ("GET", "/bo/cartographie/donnees", [L, A, A, A, A]),
    ("GET", "/bo/statistiques", [L, A, A, A, A]),
    ("GET", "/bo/signalements/export", [L, A, A, A, A]),
    ("GET", "/bo/signalements/export.csv", [L, A, A, A, A]),
    ("GET", "/bo/signalements/export.xlsx", [L, A, A, A, A]),
    ("GET", "/statistiques", [A, A, A, A, A]),
    // API accounts (partner API, docs/api.md).
    ("GET", "/bo/comptes-api", [L, F, F, A, A]),
    ("POST", "/bo/comptes-api", [L, F, F, A, A]),
    ("POST", "/bo/comptes-api/{id}/revoquer", [L, F, F, A, A]),
    // Documents of a case (docs/documents.md): every signed-in role reaches
    // the handler, which applies the case's policy (403/404 there).
    ("POST", "/bo/signalements/{uuid}/documents", [L, A, A, A, A]),
    ("POST", "/bo/documents/{uuid}/modifier", [L, A, A, A, A]),
    ("POST", "/bo/documents/{uuid}/pivoter", [L, A, A, A, A]),
    ("POST", "/bo/documents/{uuid}/supprimer", [L, A, A, A, A]),
    ("GET", "/bo/documents/{uuid}/vignette", [L, A, A, A, A]),
    // Visits (docs/visits.md): the case is visible, the visit unknown (404).
    (
        "POST",
        "/bo/signalements/{uuid}/visites/{visit_id}/reporter",
        [L, A, A, A, A],
    ),
    (
        "POST",
        "/bo/signalements/{uuid}/visites/{visit_id}/annuler",
        [L, A, A, A, A],
    ),
    (
        "POST",
        "/bo/signalements/{uuid}/visites/{visit_id}/conclusion",
        [L, A, A, A, A],
    ),
    (
        "POST",
        "/bo/signalements/{uuid}/visites/{visit_id}/fichiers",
        [L, A, A, A, A],
    ),
];

/// Replaces the path parameters of those routes with real values.
pub async fn fill(path: &str, _app: &TestApp) -> String {
    // A job that does not exist: allowed roles get 404, the others 403 or
    // the login page before the handler runs.
    path.replace("/bo/interconnexions/{id}", "/bo/interconnexions/999999999")
        .replace("/dev/courriels/{id}", "/dev/courriels/aucun")
        .replace("/bo/comptes-api/{id}", "/bo/comptes-api/999999999")
}
