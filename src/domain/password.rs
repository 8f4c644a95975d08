//! The password policy: at least 12 characters mixing lower case, upper
//! case, digits and symbols, and not one of the passwords everybody tries.

/// Why a password is refused, as a French sentence for the form.
pub fn check(password: &str, email: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < 12 {
        return Err("Le mot de passe doit contenir au moins 12 caractères.".into());
    }
    if length > 128 {
        return Err("Le mot de passe ne doit pas dépasser 128 caractères.".into());
    }
    let lower = password.chars().any(char::is_lowercase);
    let upper = password.chars().any(char::is_uppercase);
    let digit = password.chars().any(|c| c.is_ascii_digit());
    let symbol = password.chars().any(|c| !c.is_alphanumeric());
    if !(lower && upper && digit && symbol) {
        return Err(
            "Le mot de passe doit contenir au moins une minuscule, une majuscule, un chiffre et un caractère spécial."
                .into(),
        );
    }
    let folded = password.to_lowercase();
    let local_part = email.split('@').next().unwrap_or("").to_lowercase();
    if local_part.len() >= 4 && folded.contains(&local_part) {
        return Err("Le mot de passe ne doit pas contenir votre adresse e-mail.".into());
    }
    if is_common(&folded) {
        return Err("Ce mot de passe est trop courant : choisissez-en un autre.".into());
    }
    Ok(())
}

/// Passwords (and stems) found at the top of public leak lists, lower-cased.
/// A password made of one of them plus digits and symbols is refused too.
const COMMON: &[&str] = &[
    "password",
    "motdepasse",
    "azerty",
    "qwerty",
    "123456",
    "12345678",
    "123456789",
    "1234567890",
    "000000",
    "111111",
    "abc123",
    "iloveyou",
    "admin",
    "administrateur",
    "bonjour",
    "soleil",
    "doudou",
    "marseille",
    "loulou",
    "chouchou",
    "football",
    "welcome",
    "letmein",
    "monkey",
    "dragon",
    "sunshine",
    "princess",
    "histologe",
    "signalement",
    "logement",
    "changeme",
    "azertyuiop",
    "qwertyuiop",
    "motdepasse123",
    "password123",
    "passw0rd",
    "p@ssw0rd",
    "azerty123",
    "jetaime",
    "nicolas",
    "julien",
    "camille",
    "france",
    "paris",
    "bienvenue",
];

fn is_common(folded: &str) -> bool {
    let stem: String = folded.chars().filter(|c| c.is_alphabetic()).collect();
    COMMON
        .iter()
        .any(|common| folded == *common || (stem.len() >= 4 && stem == *common))
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn a_long_mixed_password_is_accepted() {
        assert!(check("Vert-Tilleul-42-Maison", "jeanne@exemple.fr").is_ok());
    }

    #[test]
    fn short_or_single_class_passwords_are_refused_in_french() {
        assert!(
            check("Court-1!", "a@b.fr")
                .unwrap_err()
                .contains("12 caractères")
        );
        assert!(
            check("toutenminusculessanschiffre", "a@b.fr")
                .unwrap_err()
                .contains("majuscule")
        );
    }

    #[test]
    fn common_passwords_are_refused_even_dressed_up() {
        assert!(
            check("Motdepasse123!", "a@b.fr")
                .unwrap_err()
                .contains("trop courant")
        );
        assert!(
            check("Password-2024!", "a@b.fr")
                .unwrap_err()
                .contains("trop courant")
        );
    }

    #[test]
    fn a_password_containing_the_email_is_refused() {
        assert!(
            check("Jeanne.Dupont-2026", "jeanne.dupont@exemple.fr")
                .unwrap_err()
                .contains("adresse e-mail")
        );
    }
}
