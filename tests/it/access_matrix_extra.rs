//! Entries of the role × route matrix for the routes of other feature areas
//! (public form, follow-up space, interconnections, ...): each area appends
//! its routes here, with the expected answer for anonymous, agent, partner
//! admin, territory admin and super admin.

type Expect = crate::access::MatrixExpect;

use crate::access::MatrixExpect::{Allowed as A, Forbidden as F, Hidden as N, Login as L};

pub static EXTRA: &[(&str, &str, [Expect; 5])] = &[
    // Interconnections (worker issue).
    ("GET", "/bo/interconnexions", [L, F, F, A, A]),
    ("POST", "/bo/interconnexions/{id}/relancer", [L, F, F, A, A]),
    // Prometheus figures: no role, only the bearer of METRICS_TOKEN; without
    // a configured token the route does not exist for anyone (the token's
    // own tests: tests/it/worker/operations.rs).
    ("GET", "/metrics", [N, N, N, N, N]),
    // Development mailbox: opt-in (DEV_MAILBOX), so absent here for every
    // role, as in production.
    ("GET", "/dev/courriels", [N, N, N, N, N]),
    ("GET", "/dev/courriels/{id}", [N, N, N, N, N]),
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
    // The matrix's document is still being scanned: no thumbnail before the
    // scan, for anyone (tests/it/bo_documents.rs checks the clean one).
    ("GET", "/bo/documents/{uuid}/vignette", [L, N, N, N, N]),
    // Orders (docs/arretes.md): the case's policy answers in the handler;
    // the register import is for territory admins.
    ("POST", "/bo/signalements/{uuid}/arretes", [L, A, A, A, A]),
    ("GET", "/bo/arretes/import", [L, F, F, A, A]),
    ("POST", "/bo/arretes/import", [L, F, F, A, A]),
    ("POST", "/bo/arretes/import/confirmer", [L, F, F, A, A]),
    // Address history (docs/addresses.md §4): every back-office role, each
    // seeing the cases of its own scope.
    ("GET", "/bo/adresses/{key}", [L, A, A, A, A]),
    ("GET", "/bo/adresses/{key}/export.csv", [L, A, A, A, A]),
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
    // E-mail deliverability (docs/deliverability.md): marking a resident's
    // address checked is a case action (the policy decides in the handler);
    // Brevo's webhook has no role and, without BREVO_WEBHOOK_SECRET (as
    // here), does not exist (tests/it/deliverability.rs covers it).
    (
        "POST",
        "/bo/signalements/{uuid}/email-verifie",
        [L, A, A, A, A],
    ),
    ("POST", "/webhooks/brevo", [N, N, N, N, N]),
    // The resident's full space (docs/resident-space.md): public routes;
    // the handlers want the light check passed (the matrix's sessions have
    // not: a redirect to the check, or 403 from the handler).
    (
        "GET",
        "/suivre-mon-signalement/{code}/modifier",
        [A, A, A, A, A],
    ),
    (
        "POST",
        "/suivre-mon-signalement/{code}/modifier",
        [A, A, A, A, A],
    ),
    // Terms of use and contact (docs/terms.md): the pages are public; the
    // interstitial is every signed-in user's (an empty answer is a 400).
    ("GET", "/conditions-utilisation", [A, A, A, A, A]),
    (
        "GET",
        "/conditions-utilisation-professionnels",
        [A, A, A, A, A],
    ),
    ("GET", "/bo/conditions-utilisation", [L, A, A, A, A]),
    ("POST", "/bo/conditions-utilisation", [L, A, A, A, A]),
    ("GET", "/contact", [A, A, A, A, A]),
    ("POST", "/contact", [A, A, A, A, A]),
    // Invitations (docs/resident-space.md §3): the resident only (403 from
    // the handler without the check); a guest's link that is not a token
    // of an invitation in force is not found.
    (
        "POST",
        "/suivre-mon-signalement/{code}/invitations",
        [A, A, A, A, A],
    ),
    // The matrix has no invitation: its id is not found.
    (
        "POST",
        "/suivre-mon-signalement/{code}/invitations/{id}/revoquer",
        [N, N, N, N, N],
    ),
    ("GET", "/invitation/{token}", [N, N, N, N, N]),
    // Change of e-mail (docs/resident-space.md §2): the resident only;
    // the matrix has no confirmation token.
    (
        "POST",
        "/suivre-mon-signalement/{code}/courriel",
        [A, A, A, A, A],
    ),
    ("GET", "/confirmer-courriel/{token}", [N, N, N, N, N]),
];
