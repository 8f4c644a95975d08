//! Names, streets, landlords and messages of generated reports: plausible
//! French data, invented (no real person), shared by the demo seed and the
//! benchmark dataset.

use rand::{Rng, seq::IndexedRandom};

/// First names of occupants, declarants and accounts.
pub const FIRST_NAMES: &[&str] = &[
    "Nadia", "Karim", "Sophie", "Thomas", "Fatou", "Julien", "Aïcha", "Marc", "Léa", "Mehdi",
    "Chloé", "Yves", "Inès", "Pierre", "Amina", "Hugo", "Sarah", "Bruno", "Élodie", "Moussa",
    "Camille", "Louis", "Manon", "Nicolas", "Yasmine", "Paul", "Emma", "Rachid", "Jeanne", "Omar",
];

/// Common surnames.
pub const LAST_NAMES: &[&str] = &[
    "Benali",
    "Dupont",
    "Nguyen",
    "Lefèvre",
    "Diallo",
    "Garcia",
    "Rousseau",
    "Haddad",
    "Fontaine",
    "Traoré",
    "Mercier",
    "Lambert",
    "Bonnet",
    "Chevalier",
    "Da Silva",
    "Morel",
    "Girard",
    "Mansouri",
    "Faure",
    "Roux",
    "Martin",
    "Bernard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Michel",
    "Lefebvre",
    "Fournier",
    "Blanc",
    "Guerin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Mathieu",
    "Clement",
    "Gauthier",
    "Dumont",
    "Lopez",
    "Fabre",
    "Brun",
    "Dufour",
    "Meyer",
    "Barbier",
    "Aubert",
];

/// Syllables of the generated surnames (40 x 40 = 1,600 of them).
const NAME_STARTS: &[&str] = &[
    "Bel", "Ber", "Bou", "Cha", "Del", "Dur", "Fa", "Gar", "Gi", "Lan", "Le", "Ma", "Mon", "Pe",
    "Ri", "Ro", "Sa", "Ta", "Va", "Vi", "Ben", "Car", "Col", "Cou", "Dam", "Fer", "Gau", "Jou",
    "Lau", "Mar", "Mer", "Pas", "Pon", "Que", "Ray", "Sau", "Ser", "Tes", "Tour", "Ver",
];
const NAME_ENDS: &[&str] = &[
    "nard", "rand", "mont", "lin", "chet", "gnon", "zet", "vier", "rault", "quet", "det", "geot",
    "neau", "ron", "tier", "vet", "bert", "card", "gier", "lot", "maire", "nier", "rat", "reau",
    "rin", "teau", "thier", "tin", "vaux", "zière", "bois", "court", "fort", "lard", "lière",
    "mas", "nay", "rieux", "sard", "ville",
];

/// How surnames are spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surnames {
    /// A small pool of common names: a demo where names repeat is easier to
    /// search by hand.
    Common,
    /// As a national file holds them: a long tail, where even the most
    /// common name is a fraction of a percent (Martin, the most frequent in
    /// France, is about 0.4 %). One report in twenty takes one of the
    /// common names (0.1 % each), the others one of 1,600 generated ones:
    /// a search for a name matches about a thousand reports out of a
    /// million, as it would in production.
    National,
}

/// A surname drawn as `spread` says.
pub fn surname(rng: &mut impl Rng, spread: Surnames) -> &'static str {
    static GENERATED: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        NAME_STARTS
            .iter()
            .flat_map(|a| NAME_ENDS.iter().map(move |b| format!("{a}{b}")))
            .collect()
    });
    if spread == Surnames::Common || rng.random_bool(0.05) {
        LAST_NAMES.choose(rng).copied().unwrap_or("Martin")
    } else {
        GENERATED.choose(rng).map_or("Martin", String::as_str)
    }
}

/// A first name.
pub fn first_name(rng: &mut impl Rng) -> &'static str {
    FIRST_NAMES.choose(rng).copied().unwrap_or("Léa")
}

/// Street names (the number is drawn apart).
pub const STREETS: &[&str] = &[
    "rue de la République",
    "avenue Jean Jaurès",
    "rue Victor Hugo",
    "boulevard de la Libération",
    "rue des Écoles",
    "place du Marché",
    "rue Pasteur",
    "chemin des Vignes",
    "rue du Moulin",
    "avenue de la Gare",
    "rue Émile Zola",
    "impasse des Lilas",
    "rue Garibaldi",
    "cours Gambetta",
    "rue de la Paix",
    "allée des Tilleuls",
    "rue du Général de Gaulle",
    "rue Jules Ferry",
];

/// Landlords, private and social.
pub const LANDLORDS: &[&str] = &[
    "SCI Les Tilleuls",
    "M. Girard",
    "Mme Lopez",
    "Foncière du Centre",
    "Habitat et Territoires",
    "M. Perrin",
    "SARL Immo Sud",
    "Mme Caron",
    "Office public de l’habitat",
    "SCI du Port",
];

/// What declarants write in the free message.
pub const DETAILS: &[&str] = &[
    "De la moisissure apparaît sur les murs de la chambre des enfants depuis l’hiver dernier, malgré l’aération.",
    "Le chauffage ne fonctionne plus depuis octobre ; le propriétaire ne répond pas à nos appels.",
    "Des fils électriques sont à nu dans la salle de bain et les prises chauffent.",
    "Présence de punaises de lit et de cafards dans tout l’appartement.",
    "Le plafond de la cuisine s’est effondré en partie après une fuite venant de l’étage.",
    "Nous sommes six dans un deux-pièces de 28 m², sans fenêtre dans une des pièces.",
    "L’escalier de l’immeuble est dangereux : marches cassées et rampe descellée.",
];

/// Partners' follow-up messages: (text, shown to the resident).
pub const PARTNER_MESSAGES: &[(&str, bool)] = &[
    (
        "Prise de contact avec l’occupant ; une visite est à programmer.",
        true,
    ),
    ("Courrier de mise en demeure envoyé au propriétaire.", false),
    (
        "Le propriétaire s’engage à faire les travaux avant la fin du mois.",
        true,
    ),
    (
        "Relance du bailleur par téléphone, sans réponse pour l’instant.",
        false,
    ),
    (
        "Visite effectuée : humidité importante dans la chambre, rapport à suivre.",
        true,
    ),
];

/// An e-mail-safe lowercase ASCII form of a name ("Da Silva" → "dasilva",
/// "Élodie" → "elodie").
pub fn ascii(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            'é' | 'è' | 'ê' | 'É' => Some('e'),
            'ï' | 'î' => Some('i'),
            'ç' => Some('c'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::StdRng};

    use super::*;

    #[test]
    fn ascii_keeps_letters_and_digits_only() {
        assert_eq!(ascii("Da Silva"), "dasilva");
        assert_eq!(ascii("Élodie"), "elodie");
        assert_eq!(ascii("Lefèvre"), "lefevre");
        assert_eq!(ascii("Traoré12"), "traore12");
    }

    #[test]
    fn national_surnames_have_a_long_tail_and_common_ones_do_not() {
        let mut rng = StdRng::seed_from_u64(1);
        let national: std::collections::HashSet<_> = (0..5_000)
            .map(|_| surname(&mut rng, Surnames::National))
            .collect();
        assert!(national.len() > 1_000, "{}", national.len());
        let common: std::collections::HashSet<_> = (0..5_000)
            .map(|_| surname(&mut rng, Surnames::Common))
            .collect();
        assert!(common.iter().all(|n| LAST_NAMES.contains(n)));
    }
}
