//! The defect screens (docs/form.md §3): questions built from the taxonomy
//! (category → criterion → precision), and the translation of the answers
//! into the precisions that scoring reads (§3.4).
//!
//! How a criterion turns into precisions depends on the shape of its
//! precisions in the taxonomy:
//! - one precision: ticking the criterion selects it;
//! - room lists (`…_pieces_tout`, `…_pieces_cuisine`…): one checkbox per
//!   room, all rooms or a single-room dwelling give `…_tout`;
//! - `…_details_<question>_<answer>`: one radio per question;
//! - roof and infiltration (`desordres_batiment_isolation_*`): derived from
//!   the dwelling's answers;
//! - anything else: one radio among the precisions.

use super::form::{Answers, Cond, DeclarantProfile, Kind, Question, Step, eq, get, is, profiles};

/// A form category with its criteria, as loaded from the taxonomy.
#[derive(Debug, Clone)]
pub struct Category {
    pub code: String,
    pub label: String,
    /// `batiment` or `logement`.
    pub zone: String,
    pub criteria: Vec<Criterion>,
}

#[derive(Debug, Clone)]
pub struct Criterion {
    pub code: String,
    pub label: String,
    pub precisions: Vec<PrecisionRef>,
}

#[derive(Debug, Clone)]
pub struct PrecisionRef {
    pub code: String,
    pub label: String,
}

/// The category whose precisions come from the dwelling's description.
pub const COMPOSITION_CATEGORY: &str = "desordres_type_composition_logement";

const ROOMS: [(&str, &str); 3] = [
    ("piece_a_vivre", "Pièce à vivre (salon, chambre)"),
    ("cuisine", "Cuisine"),
    ("salle_de_bain", "Salle de bain ou toilettes"),
];

/// How a criterion is asked.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Single,
    /// Room code → precision code, plus the "whole dwelling" precision.
    Rooms {
        rooms: Vec<(String, String)>,
        all: String,
    },
    /// Questions (`details_<question>`) and their answers.
    Details(Vec<(String, Vec<String>)>),
    /// Derived from the dwelling (roof, infiltration).
    Derived,
    Choice,
}

pub fn shape(c: &Criterion) -> Shape {
    if c.precisions.len() <= 1 {
        return Shape::Single;
    }
    if c.code == "desordres_batiment_isolation_dernier_etage_toit"
        || c.code == "desordres_batiment_isolation_infiltration_eau"
    {
        return Shape::Derived;
    }
    let find = |suffixes: &[&str]| {
        c.precisions
            .iter()
            .find(|p| suffixes.iter().any(|s| p.code.ends_with(s)))
            .map(|p| p.code.clone())
    };
    if c.precisions.len() == 4
        && let Some(all) = find(&["_pieces_tout", "_toutes_pieces"])
    {
        let rooms: Option<Vec<_>> = ROOMS
            .iter()
            .map(|(room, _)| find(&[&format!("_{room}")]).map(|p| ((*room).to_owned(), p)))
            .collect();
        if let Some(rooms) = rooms {
            return Shape::Rooms { rooms, all };
        }
    }
    let prefix = format!("{}_details_", c.code);
    let mut questions: Vec<(String, Vec<String>)> = Vec::new();
    for p in &c.precisions {
        let Some(rest) = p.code.strip_prefix(&prefix) else {
            return Shape::Choice;
        };
        let Some((question, answer)) = ["_before_movein", "_after_movein", "_oui", "_non", "_nsp"]
            .iter()
            .find_map(|s| rest.strip_suffix(s).map(|q| (q, &s[1..])))
        else {
            return Shape::Choice;
        };
        match questions.iter_mut().find(|(q, _)| q == question) {
            Some((_, answers)) => answers.push(answer.to_owned()),
            None => questions.push((question.to_owned(), vec![answer.to_owned()])),
        }
    }
    Shape::Details(questions)
}

/// The zone a defect screen asks about; `None` for the other screens.
pub fn step_zone(step: Step) -> Option<&'static str> {
    match step {
        Step::DesordresBatiment => Some("batiment"),
        Step::DesordresLogement => Some("logement"),
        _ => None,
    }
}

/// The categories a defect screen offers (none on the other screens).
pub fn step_categories<'a>(taxonomy: &'a [Category], step: Step, a: &Answers) -> Vec<&'a Category> {
    step_zone(step).map_or_else(Vec::new, |zone| categories_for(taxonomy, zone, a))
}

/// The questions of any screen, the defect screens' from the taxonomy.
pub fn step_questions(taxonomy: &[Category], step: Step, a: &Answers) -> Vec<Question> {
    match step_zone(step) {
        Some(zone) => questions(&categories_for(taxonomy, zone, a), a),
        None => step.questions(a),
    }
}

/// The categories a declarant is offered in a zone.
pub fn categories_for<'a>(taxonomy: &'a [Category], zone: &str, a: &Answers) -> Vec<&'a Category> {
    let occupant = super::form::profile(a).is_some_and(DeclarantProfile::is_occupant);
    let hide_light = is(a, "type_logement_sous_sol_sans_fenetre", "oui")
        || is(a, "type_logement_sous_comble_sans_fenetre", "oui");
    taxonomy
        .iter()
        .filter(|c| c.zone == zone && c.code != COMPOSITION_CATEGORY)
        .filter(|c| !(occupant && c.code == "desordres_logement_proprete"))
        .filter(|c| !(hide_light && c.code == "desordres_logement_lumiere"))
        .collect()
}

fn answer_label(answer: &str) -> &'static str {
    match answer {
        "oui" => "Oui",
        "non" => "Non",
        "before_movein" => "Avant l’arrivée du foyer",
        "after_movein" => "Après l’arrivée du foyer",
        _ => "Je ne sais pas",
    }
}

/// The text of a precision label after the criterion's (`… – detail`).
fn detail(label: &str) -> &str {
    label.rsplit_once(" – ").map_or(label, |(_, d)| d)
}

fn multi_rooms(a: &Answers) -> bool {
    is(a, "composition_logement_piece_unique", "plusieurs_pieces")
}

fn room_offered(a: &Answers, room: &str) -> bool {
    match room {
        "cuisine" => is(a, "type_logement_commodites_cuisine", "oui"),
        "salle_de_bain" => {
            is(a, "type_logement_commodites_salle_de_bain", "oui")
                || is(a, "type_logement_commodites_wc", "oui")
        }
        _ => true,
    }
}

/// The questions of a defect screen: category boxes, criterion boxes, then
/// each criterion's details.
pub fn questions(categories: &[&Category], a: &Answers) -> Vec<Question> {
    let mut out = Vec::new();
    for category in categories {
        out.push(question(&category.code, &category.label, Kind::Checkbox).optional());
        let in_category = || eq(&category.code, &["1"]);
        for criterion in &category.criteria {
            let ticked = || Cond::All(vec![in_category(), eq(&criterion.code, &["1"])]);
            out.push(
                question(&criterion.code, &criterion.label, Kind::Checkbox)
                    .with_show(in_category())
                    .optional(),
            );
            match shape(criterion) {
                Shape::Single | Shape::Derived => {}
                Shape::Rooms { .. } => {
                    for (room, label) in ROOMS {
                        if !room_offered(a, room) {
                            continue;
                        }
                        out.push(
                            question(
                                &format!("{}_pieces_{room}", criterion.code),
                                &format!("{} : {label}", criterion.label),
                                Kind::Checkbox,
                            )
                            .with_show(Cond::All(vec![ticked(), Cond::Custom(multi_rooms)]))
                            .optional(),
                        );
                    }
                }
                Shape::Details(list) => {
                    for (q, answers) in list {
                        let first = criterion
                            .precisions
                            .iter()
                            .find(|p| p.code.contains(&format!("_details_{q}_")))
                            .map(|p| detail(&p.label))
                            .unwrap_or_default();
                        let label = first.rsplit_once(" : ").map_or(first, |(l, _)| l);
                        let mut show = vec![ticked()];
                        if q == "moisissure_apres_nettoyage" {
                            show.push(profiles(&[
                                DeclarantProfile::Locataire,
                                DeclarantProfile::BailleurOccupant,
                            ]));
                        }
                        out.push(
                            question(
                                &format!("{}_details_{q}", criterion.code),
                                &format!("{} : {label} ?", criterion.label),
                                Kind::Radio(
                                    answers
                                        .iter()
                                        .map(|v| (v.clone(), answer_label(v).to_owned()))
                                        .collect(),
                                ),
                            )
                            .with_show(Cond::All(show)),
                        );
                    }
                }
                Shape::Choice => out.push(
                    question(
                        &format!("{}_precision", criterion.code),
                        &format!("{} : précisez", criterion.label),
                        Kind::Radio(
                            criterion
                                .precisions
                                .iter()
                                .map(|p| (p.code.clone(), detail(&p.label).to_owned()))
                                .collect(),
                        ),
                    )
                    .with_show(ticked()),
                ),
            }
        }
    }
    out
}

fn question(slug: &str, label: &str, kind: Kind) -> Question {
    Question {
        slug: slug.to_owned(),
        label: label.to_owned(),
        hint: String::new(),
        kind,
        show: Cond::Always,
        required: Cond::Always,
        nsp_for: Vec::new(),
        autocomplete: "",
    }
}

trait QuestionExt {
    fn with_show(self, c: Cond) -> Self;
    fn optional(self) -> Self;
}

impl QuestionExt for Question {
    fn with_show(mut self, c: Cond) -> Self {
        self.show = c;
        self
    }
    fn optional(mut self) -> Self {
        self.required = Cond::Never;
        self
    }
}

/// Checks the defect answers beyond single questions: a room list needs at
/// least one room. Returns (field, message) pairs.
pub fn check_rooms(categories: &[&Category], a: &Answers) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    if !multi_rooms(a) {
        return errors;
    }
    for category in categories {
        if !is(a, &category.code, "1") {
            continue;
        }
        for criterion in &category.criteria {
            if !is(a, &criterion.code, "1") {
                continue;
            }
            if let Shape::Rooms { .. } = shape(criterion) {
                let offered: Vec<_> = ROOMS
                    .iter()
                    .filter(|(room, _)| room_offered(a, room))
                    .map(|(room, _)| format!("{}_pieces_{room}", criterion.code))
                    .collect();
                if !offered.iter().any(|slug| is(a, slug, "1"))
                    && let Some(first) = offered.first()
                {
                    errors.push((first.clone(), "Cochez au moins une pièce.".to_owned()));
                }
            }
        }
    }
    errors
}

/// The precisions the answers select (docs/form.md §3.4), composition-derived
/// ones included. Codes only; the caller loads their weights.
pub fn selected_precisions(taxonomy: &[Category], a: &Answers) -> Vec<String> {
    let mut out = Vec::new();
    for zone in ["batiment", "logement"] {
        let zone_asked = match zone {
            "batiment" => get(a, "zone_concernee_zone").is_none_or(|z| z != "logement"),
            _ => get(a, "zone_concernee_zone").is_none_or(|z| z != "batiment"),
        };
        if !zone_asked {
            continue;
        }
        for category in categories_for(taxonomy, zone, a) {
            if !is(a, &category.code, "1") {
                continue;
            }
            for criterion in &category.criteria {
                if !is(a, &criterion.code, "1") {
                    continue;
                }
                precisions_of(criterion, a, &mut out);
            }
        }
    }
    out.extend(composition_precisions(a));
    out
}

fn precisions_of(criterion: &Criterion, a: &Answers, out: &mut Vec<String>) {
    let owns = |code: &str| criterion.precisions.iter().any(|p| p.code == code);
    match shape(criterion) {
        Shape::Single => {
            if let Some(p) = criterion.precisions.first() {
                out.push(p.code.clone());
            }
        }
        Shape::Derived => {
            let maison = is(a, "type_logement_nature", "maison");
            let suffix = if criterion.code.ends_with("dernier_etage_toit") {
                if maison {
                    "maison_individuelle"
                } else if is(a, "type_logement_sous_comble_sans_fenetre", "oui") {
                    "sous_combles"
                } else if is(a, "type_logement_dernier_etage", "oui") {
                    "dernier_etage"
                } else {
                    "sous_toit_non"
                }
            } else if maison {
                "maison_individuelle"
            } else if is(a, "type_logement_sous_sol_sans_fenetre", "oui") {
                "sous_sol"
            } else if is(a, "type_logement_rdc", "oui") {
                "rdc"
            } else {
                "au_sol_non"
            };
            let code = format!("{}_{suffix}", criterion.code);
            if owns(&code) {
                out.push(code);
            }
        }
        Shape::Rooms { rooms, all } => {
            let offered: Vec<_> = rooms
                .iter()
                .filter(|(room, _)| room_offered(a, room))
                .collect();
            let ticked: Vec<_> = offered
                .iter()
                .filter(|(room, _)| is(a, &format!("{}_pieces_{room}", criterion.code), "1"))
                .collect();
            if !multi_rooms(a) || ticked.len() == ROOMS.len() || ticked.is_empty() {
                out.push(all);
            } else {
                out.extend(ticked.into_iter().map(|(_, p)| p.clone()));
            }
        }
        Shape::Details(list) => {
            for (q, _) in list {
                if let Some(answer) = get(a, &format!("{}_details_{q}", criterion.code)) {
                    let code = format!("{}_details_{q}_{answer}", criterion.code);
                    if owns(&code) {
                        out.push(code);
                    }
                }
            }
        }
        Shape::Choice => {
            if let Some(code) = get(a, &format!("{}_precision", criterion.code))
                && owns(code)
            {
                out.push(code.to_owned());
            }
        }
    }
}

/// Precisions that follow from the dwelling's description (docs/form.md §3.4,
/// "composition-derived"); overcrowding is added by the scoring module.
pub fn composition_precisions(a: &Answers) -> Vec<String> {
    let p = |s: &str| format!("{COMPOSITION_CATEGORY}_{s}");
    let mut out = Vec::new();
    if is(a, "type_logement_sous_comble_sans_fenetre", "oui") {
        out.push(p("sous_combles"));
    }
    if is(a, "type_logement_sous_sol_sans_fenetre", "oui") {
        out.push(p("sous_sol"));
    }
    let surface = get(a, "composition_logement_superficie").and_then(|s| s.parse::<f64>().ok());
    if is(a, "composition_logement_piece_unique", "piece_unique")
        && surface.is_some_and(|s| s < 9.0)
    {
        out.push(p("piece_unique_superficie"));
    }
    if is(a, "composition_logement_piece_unique", "plusieurs_pieces")
        && is(a, "type_logement_commodites_piece_a_vivre_9m", "non")
    {
        out.push(p("plusieurs_pieces_aucune_piece_9"));
    }
    for (facility, shared, code) in [
        ("cuisine", "cuisine_collective", "cuisine_collective"),
        (
            "salle_de_bain",
            "salle_de_bain_collective",
            "douche_collective",
        ),
        ("wc", "wc_collective", "wc_collectif"),
    ] {
        if is(a, &format!("type_logement_commodites_{facility}"), "non")
            && let Some(answer) = get(a, &format!("type_logement_commodites_{shared}"))
        {
            out.push(p(&format!("{code}_{answer}")));
        }
    }
    if is(a, "type_logement_commodites_wc_cuisine", "oui") {
        out.push(p("wc_cuisine_ensemble"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn criterion(code: &str, precisions: &[&str]) -> Criterion {
        Criterion {
            code: code.into(),
            label: "Critère".into(),
            precisions: precisions
                .iter()
                .map(|p| PrecisionRef {
                    code: (*p).into(),
                    label: format!("Critère – {p}"),
                })
                .collect(),
        }
    }

    fn answers(pairs: &[(&str, &str)]) -> Answers {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn rooms_give_one_precision_per_room_or_the_whole_dwelling() {
        let c = criterion(
            "x",
            &[
                "x_pieces_tout",
                "x_pieces_piece_a_vivre",
                "x_pieces_cuisine",
                "x_pieces_salle_de_bain",
            ],
        );
        assert!(matches!(shape(&c), Shape::Rooms { .. }));
        let mut out = Vec::new();
        let a = answers(&[
            ("composition_logement_piece_unique", "plusieurs_pieces"),
            ("type_logement_commodites_cuisine", "oui"),
            ("x_pieces_cuisine", "1"),
        ]);
        precisions_of(&c, &a, &mut out);
        assert_eq!(out, vec!["x_pieces_cuisine"]);
        let mut out = Vec::new();
        let single = answers(&[("composition_logement_piece_unique", "piece_unique")]);
        precisions_of(&c, &single, &mut out);
        assert_eq!(out, vec!["x_pieces_tout"]);
    }

    #[test]
    fn detail_questions_give_one_precision_per_answer() {
        let c = criterion(
            "h",
            &[
                "h_details_machine_oui",
                "h_details_machine_non",
                "h_details_fuite_oui",
                "h_details_fuite_non",
            ],
        );
        let Shape::Details(list) = shape(&c) else {
            panic!("details expected");
        };
        assert_eq!(list.len(), 2);
        let mut out = Vec::new();
        let a = answers(&[("h_details_machine", "non"), ("h_details_fuite", "oui")]);
        precisions_of(&c, &a, &mut out);
        assert_eq!(out, vec!["h_details_machine_non", "h_details_fuite_oui"]);
    }

    #[test]
    fn the_roof_precision_follows_the_dwelling() {
        let c = criterion(
            "desordres_batiment_isolation_dernier_etage_toit",
            &[
                "desordres_batiment_isolation_dernier_etage_toit_sous_toit_non",
                "desordres_batiment_isolation_dernier_etage_toit_maison_individuelle",
            ],
        );
        let mut out = Vec::new();
        precisions_of(
            &c,
            &answers(&[("type_logement_nature", "maison")]),
            &mut out,
        );
        assert_eq!(
            out,
            vec!["desordres_batiment_isolation_dernier_etage_toit_maison_individuelle"]
        );
    }

    #[test]
    fn missing_facilities_give_composition_precisions() {
        let a = answers(&[
            ("type_logement_commodites_wc", "non"),
            ("type_logement_commodites_wc_collective", "oui"),
            ("composition_logement_piece_unique", "piece_unique"),
            ("composition_logement_superficie", "7"),
        ]);
        let out = composition_precisions(&a);
        assert!(out.contains(&"desordres_type_composition_logement_wc_collectif_oui".to_owned()));
        assert!(
            out.contains(&"desordres_type_composition_logement_piece_unique_superficie".to_owned())
        );
    }
}
