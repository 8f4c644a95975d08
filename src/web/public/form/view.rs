//! What the step template displays: each question as a field with its
//! value, options, error and browser-side condition.

use std::collections::BTreeMap;

use crate::domain::report::form::{Answers, Cond, Kind, Question, Step};

/// One field of a screen, ready for the template.
pub struct FieldView {
    pub name: String,
    pub label: String,
    pub hint: String,
    /// text | email | tel | number | date | month | textarea | radio |
    /// select | checkbox | hidden | file
    pub kind: &'static str,
    pub value: String,
    /// (value, label, checked)
    pub options: Vec<(String, String, bool)>,
    pub error: Option<String>,
    pub required: bool,
    /// JSON condition for form.js; empty when always shown.
    pub show: String,
    pub maxlength: usize,
    pub autocomplete: &'static str,
    /// 0 = top level, 1 = under a category, 2 = detail of a criterion.
    pub depth: u8,
}

impl FieldView {
    pub fn is_checked(&self) -> bool {
        self.value == "1"
    }
    pub fn is_selected(&self, value: &str) -> bool {
        self.value == value
    }
    /// The `type` attribute of a text-like input. Numbers stay text
    /// inputs so that what was typed comes back intact after an error.
    pub fn input_type(&self) -> &'static str {
        match self.kind {
            "email" => "email",
            "tel" => "tel",
            "date" => "date",
            _ => "text",
        }
    }
    pub fn input_mode(&self) -> &'static str {
        match self.kind {
            "number" | "postal" | "month" => "numeric",
            _ => "",
        }
    }
}

fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Text { .. } => "text",
        Kind::Textarea { .. } => "textarea",
        Kind::Email => "email",
        Kind::Phone => "tel",
        Kind::Integer { .. } => "number",
        Kind::PastDate | Kind::BirthDate => "date",
        Kind::MonthYear => "month",
        Kind::Year => "number",
        Kind::PostalCode => "postal",
        Kind::Radio(_) => "radio",
        Kind::Select(_) => "select",
        Kind::Checkbox => "checkbox",
        Kind::Hidden { .. } => "hidden",
    }
}

fn maxlength(kind: &Kind) -> usize {
    match kind {
        Kind::Text { max } | Kind::Textarea { max } | Kind::Hidden { max } => *max,
        Kind::Email => 255,
        Kind::Phone => 20,
        Kind::PostalCode => 5,
        Kind::MonthYear => 7,
        _ => 0,
    }
}

/// Depth of a defect question from its condition's shape.
fn depth(q: &Question) -> u8 {
    match &q.show {
        Cond::Eq(slug, _)
            if q.slug.starts_with("desordres_") && q.slug.starts_with(slug.as_str()) =>
        {
            1
        }
        Cond::All(list) if q.slug.starts_with("desordres_") && !list.is_empty() => 2,
        _ => 0,
    }
}

/// The fields of a screen, with the upload inputs placed after the question
/// they belong to.
pub fn fields(
    questions: &[Question],
    a: &Answers,
    errors: &BTreeMap<&str, &str>,
    uploads: &[(String, String, Option<String>)],
) -> Vec<FieldView> {
    let local = |slug: &str| questions.iter().any(|q| q.slug == slug);
    let mut out = Vec::new();
    for q in questions {
        let show = match q.show.for_client(a, &local) {
            Ok(false) => continue,
            Ok(true) => String::new(),
            Err(json) => json.to_string(),
        };
        let value = a.get(&q.slug).cloned().unwrap_or_default();
        let options = q
            .options(a)
            .into_iter()
            .map(|(v, l)| {
                let checked = v == value;
                (v, l, checked)
            })
            .collect();
        out.push(FieldView {
            name: q.slug.clone(),
            label: q.label.clone(),
            hint: q.hint.clone(),
            kind: kind_name(&q.kind),
            value,
            options,
            error: errors.get(q.slug.as_str()).map(|e| (*e).to_owned()),
            required: q.required.eval(a),
            show,
            maxlength: maxlength(&q.kind),
            autocomplete: q.autocomplete,
            depth: depth(q),
        });
    }
    // Upload inputs go after the last field of the group they belong to.
    for (name, label, owner) in uploads {
        let position = owner
            .as_ref()
            .and_then(|o| {
                out.iter()
                    .rposition(|f: &FieldView| f.name == *o || f.name.starts_with(&format!("{o}_")))
            })
            .map_or(out.len(), |i| i + 1);
        let show = owner
            .as_ref()
            .map(|o| {
                let values = if o.starts_with("desordres_") {
                    "1"
                } else {
                    "oui"
                };
                if local(o) {
                    serde_json::json!({ "eq": [o, [values]] }).to_string()
                } else {
                    String::new()
                }
            })
            .unwrap_or_default();
        out.insert(
            position,
            FieldView {
                name: name.clone(),
                label: label.clone(),
                hint: "Photos JPEG, PNG, GIF ou WebP, ou documents PDF, Word, Excel, OpenDocument ; 10 Mo au plus par fichier.".into(),
                kind: "file",
                value: String::new(),
                options: Vec::new(),
                error: errors.get(name.as_str()).map(|e| (*e).to_owned()),
                required: false,
                show,
                maxlength: 0,
                autocomplete: "",
                depth: if name.starts_with("desordres_") { 1 } else { 0 },
            },
        );
    }
    out
}

/// A short explanation at the top of a screen.
pub fn intro(step: Step) -> &'static str {
    match step {
        Step::Adresse => {
            "Indiquez l’adresse du logement concerné. Nous vérifions d’abord que le service est ouvert dans cette commune."
        }
        Step::Profil => "Ces réponses nous permettent de ne vous poser que les questions utiles.",
        Step::VosCoordonnees => {
            "Nous vous contacterons à ces coordonnées. Elles ne sont transmises qu’aux services qui traitent le signalement."
        }
        Step::CoordonneesOccupant => "Indiquez qui habite le logement, si vous le savez.",
        Step::Bailleur => "Le bailleur est la personne ou l’organisme qui loue le logement.",
        Step::Logement => "Décrivez le logement et l’endroit où se trouvent les problèmes.",
        Step::Composition => "Qui vit dans le logement, et quels documents existent.",
        Step::Situation => {
            "Ces informations aident à orienter le signalement vers les bons services."
        }
        Step::DesordresBatiment => {
            "Cochez les problèmes constatés dans les parties communes de l’immeuble, puis précisez-les. Vous pouvez joindre des photos."
        }
        Step::DesordresLogement => {
            "Cochez les problèmes constatés dans le logement, puis précisez-les. Vous pouvez joindre des photos."
        }
        Step::Procedure => "Dernières questions avant le récapitulatif.",
        Step::Complements => {
            "Ces informations sont facultatives mais aident les services à agir plus vite."
        }
        Step::Recapitulatif => "Relisez vos réponses avant d’envoyer le signalement.",
    }
}

pub fn size_label(size: u64) -> String {
    if size >= 1024 * 1024 {
        format!("{:.1} Mo", size as f64 / (1024.0 * 1024.0)).replace('.', ",")
    } else {
        format!("{} ko", size.div_ceil(1024))
    }
}
