//! Renders each [`Email`] job to a subject, an HTML body and a text body,
//! from the askama templates in `templates/emails/`. One arm per e-mail:
//! adding a variant to `Email` without its templates does not compile.

use askama::Template;

use crate::queue::Email;

/// An e-mail ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "emails/account_activation.html")]
struct AccountActivationHtml<'a> {
    first_name: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/account_activation.txt")]
struct AccountActivationText<'a> {
    first_name: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/password_reset.html")]
struct PasswordResetHtml<'a> {
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/password_reset.txt")]
struct PasswordResetText<'a> {
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/case_update_resident.html")]
struct CaseUpdateResidentHtml<'a> {
    reference: &'a str,
    title: &'a str,
    message: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/case_update_resident.txt")]
struct CaseUpdateResidentText<'a> {
    reference: &'a str,
    title: &'a str,
    message: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/visit_resident.html")]
struct VisitResidentHtml<'a> {
    reference: &'a str,
    title: &'a str,
    message: &'a str,
    asks_presence: bool,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/visit_resident.txt")]
struct VisitResidentText<'a> {
    reference: &'a str,
    title: &'a str,
    message: &'a str,
    asks_presence: bool,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/arrete_resident.html")]
struct ArreteResidentHtml<'a> {
    reference: &'a str,
    message: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/arrete_resident.txt")]
struct ArreteResidentText<'a> {
    reference: &'a str,
    message: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/case_update_staff.html")]
struct CaseUpdateStaffHtml<'a> {
    reference: &'a str,
    title: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/case_update_staff.txt")]
struct CaseUpdateStaffText<'a> {
    reference: &'a str,
    title: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/report_confirmation.html")]
struct ReportConfirmationHtml<'a> {
    first_name: &'a str,
    reference: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/report_confirmation.txt")]
struct ReportConfirmationText<'a> {
    first_name: &'a str,
    reference: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/new_report_to_validate.html")]
struct NewReportToValidateHtml<'a> {
    reference: &'a str,
    city: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/new_report_to_validate.txt")]
struct NewReportToValidateText<'a> {
    reference: &'a str,
    city: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/resident_message.html")]
struct ResidentMessageHtml<'a> {
    reference: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/resident_message.txt")]
struct ResidentMessageText<'a> {
    reference: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/guest_invitation.html")]
struct GuestInvitationHtml<'a> {
    name: &'a str,
    reference: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/guest_invitation.txt")]
struct GuestInvitationText<'a> {
    name: &'a str,
    reference: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/email_change_confirmation.html")]
struct EmailChangeConfirmationHtml<'a> {
    reference: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/email_change_confirmation.txt")]
struct EmailChangeConfirmationText<'a> {
    reference: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/email_change_notice.html")]
struct EmailChangeNoticeHtml<'a> {
    reference: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/email_change_notice.txt")]
struct EmailChangeNoticeText<'a> {
    reference: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/follow_up_links.html")]
struct FollowUpLinksHtml<'a> {
    links: &'a [(String, String)],
}

#[derive(Template)]
#[template(path = "emails/follow_up_links.txt")]
struct FollowUpLinksText<'a> {
    links: &'a [(String, String)],
}

#[derive(Template)]
#[template(path = "emails/draft_resume.html")]
struct DraftResumeHtml<'a> {
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/draft_resume.txt")]
struct DraftResumeText<'a> {
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/daily_digest.html")]
struct DailyDigestHtml<'a> {
    items: &'a [(String, String, String)],
}

#[derive(Template)]
#[template(path = "emails/daily_digest.txt")]
struct DailyDigestText<'a> {
    items: &'a [(String, String, String)],
}

#[derive(Template)]
#[template(path = "emails/account_inactivity.html")]
struct AccountInactivityHtml<'a> {
    first_name: &'a str,
    deadline: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/account_inactivity.txt")]
struct AccountInactivityText<'a> {
    first_name: &'a str,
    deadline: &'a str,
    link: &'a str,
}

/// What the contact message's two templates show.
struct ContactMessageParts<'a> {
    name: &'a str,
    from: &'a str,
    territory: Option<&'a str>,
    subject: &'a str,
    message: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/contact_message.html")]
struct ContactMessageHtml<'a> {
    m: &'a ContactMessageParts<'a>,
}

#[derive(Template)]
#[template(path = "emails/contact_message.txt")]
struct ContactMessageText<'a> {
    m: &'a ContactMessageParts<'a>,
}

pub fn render(email: &Email) -> Result<RenderedEmail, askama::Error> {
    let (subject, html, text) = match email {
        Email::DailyDigest { items, .. } => (
            format!(
                "Votre récapitulatif Histologe : {} nouveauté{}",
                items.len(),
                if items.len() > 1 { "s" } else { "" }
            ),
            DailyDigestHtml { items }.render()?,
            DailyDigestText { items }.render()?,
        ),
        Email::AccountInactivity {
            first_name,
            deadline,
            link,
            ..
        } => (
            "Votre compte Histologe va être désactivé".to_owned(),
            AccountInactivityHtml {
                first_name,
                deadline,
                link,
            }
            .render()?,
            AccountInactivityText {
                first_name,
                deadline,
                link,
            }
            .render()?,
        ),
        Email::AccountActivation {
            first_name, link, ..
        } => (
            "Activez votre compte Histologe".to_owned(),
            AccountActivationHtml { first_name, link }.render()?,
            AccountActivationText { first_name, link }.render()?,
        ),
        Email::PasswordReset { link, .. } => (
            "Choisissez un nouveau mot de passe".to_owned(),
            PasswordResetHtml { link }.render()?,
            PasswordResetText { link }.render()?,
        ),
        Email::ReportConfirmation {
            first_name,
            reference,
            link,
            ..
        } => (
            format!("Votre signalement {reference} a bien été reçu"),
            ReportConfirmationHtml {
                first_name,
                reference,
                link,
            }
            .render()?,
            ReportConfirmationText {
                first_name,
                reference,
                link,
            }
            .render()?,
        ),
        Email::NewReportToValidate {
            reference,
            city,
            link,
            ..
        } => (
            format!("Nouveau signalement {reference} à valider"),
            NewReportToValidateHtml {
                reference,
                city,
                link,
            }
            .render()?,
            NewReportToValidateText {
                reference,
                city,
                link,
            }
            .render()?,
        ),
        Email::ResidentMessage {
            reference, link, ..
        } => (
            format!("Nouveau message de l’usager sur le signalement {reference}"),
            ResidentMessageHtml { reference, link }.render()?,
            ResidentMessageText { reference, link }.render()?,
        ),
        Email::GuestInvitation {
            name,
            reference,
            link,
            ..
        } => (
            format!("Vous êtes invité à suivre le signalement {reference}"),
            GuestInvitationHtml {
                name,
                reference,
                link,
            }
            .render()?,
            GuestInvitationText {
                name,
                reference,
                link,
            }
            .render()?,
        ),
        Email::EmailChangeConfirmation {
            reference, link, ..
        } => (
            format!("Confirmez votre nouvelle adresse électronique (signalement {reference})"),
            EmailChangeConfirmationHtml { reference, link }.render()?,
            EmailChangeConfirmationText { reference, link }.render()?,
        ),
        Email::EmailChangeNotice {
            reference, link, ..
        } => (
            format!("L’adresse électronique du signalement {reference} a changé"),
            EmailChangeNoticeHtml { reference, link }.render()?,
            EmailChangeNoticeText { reference, link }.render()?,
        ),
        Email::FollowUpLinks { links, .. } => (
            "Le lien de suivi de votre signalement".to_owned(),
            FollowUpLinksHtml { links }.render()?,
            FollowUpLinksText { links }.render()?,
        ),
        Email::DraftResume { link, .. } => (
            "Reprendre votre signalement".to_owned(),
            DraftResumeHtml { link }.render()?,
            DraftResumeText { link }.render()?,
        ),
        Email::CaseUpdateForResident {
            reference,
            title,
            message,
            link,
            ..
        } => (
            format!("{title} – signalement {reference}"),
            CaseUpdateResidentHtml {
                reference,
                title,
                message,
                link,
            }
            .render()?,
            CaseUpdateResidentText {
                reference,
                title,
                message,
                link,
            }
            .render()?,
        ),
        Email::VisitForResident {
            reference,
            event,
            message,
            link,
            ..
        } => (
            format!("{} – signalement {reference}", event.label()),
            VisitResidentHtml {
                reference,
                title: event.label(),
                message,
                asks_presence: event.asks_presence(),
                link,
            }
            .render()?,
            VisitResidentText {
                reference,
                title: event.label(),
                message,
                asks_presence: event.asks_presence(),
                link,
            }
            .render()?,
        ),
        Email::ArreteForResident {
            reference,
            message,
            link,
            ..
        } => (
            format!(
                "{} – signalement {reference}",
                crate::domain::arrete::RESIDENT_TITLE
            ),
            ArreteResidentHtml {
                reference,
                message,
                link,
            }
            .render()?,
            ArreteResidentText {
                reference,
                message,
                link,
            }
            .render()?,
        ),
        Email::CaseUpdateForStaff {
            reference,
            title,
            link,
            ..
        } => (
            format!("{title} – {reference}"),
            CaseUpdateStaffHtml {
                reference,
                title,
                link,
            }
            .render()?,
            CaseUpdateStaffText {
                reference,
                title,
                link,
            }
            .render()?,
        ),
        Email::ContactMessage {
            name,
            from,
            territory,
            subject,
            message,
            link,
            ..
        } => {
            let page = ContactMessageParts {
                name,
                from,
                territory: territory.as_deref(),
                subject,
                message,
                link,
            };
            (
                format!("Formulaire de contact : {subject}"),
                ContactMessageHtml { m: &page }.render()?,
                ContactMessageText { m: &page }.render()?,
            )
        }
    };
    Ok(RenderedEmail {
        to: email.recipient().to_owned(),
        subject,
        html,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_activation_email_carries_the_link_in_both_bodies() {
        let email = Email::AccountActivation {
            to: "agent@ville.fr".into(),
            first_name: "Camille <b>".into(),
            link: "https://histologe.example/activation/abc".into(),
        };
        let rendered = render(&email).unwrap();
        assert_eq!(rendered.to, "agent@ville.fr");
        assert!(
            rendered
                .html
                .contains("https://histologe.example/activation/abc")
        );
        assert!(
            rendered
                .text
                .contains("https://histologe.example/activation/abc")
        );
        assert!(!rendered.html.contains("<b>"), "names are escaped in HTML");
    }
}
