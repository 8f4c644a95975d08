//! Writing on a case from the back office: a follow-up, the case's tags,
//! following the case or not.

use super::NotificationKind;
use super::plan::{Audience, AuditEntry, Author, Guard, NewFollowUp, Notice, Plan, Subscription};
use super::refusal::{FieldErrors, Refusal, check_allowed};
use super::validation::{case_ref, id_list};
use crate::domain::audit::diff;
use crate::domain::permissions::Actor;
use crate::domain::workflow::{CaseAction, CaseFacts};

/// Longest follow-up written in the back office.
pub const MAX_FOLLOW_UP_CHARS: usize = 10_000;

/// What the follow-up form sends.
#[derive(Debug, Clone, Default)]
pub struct FollowUpInput {
    pub body: String,
    /// Shown and e-mailed to the resident.
    pub public: bool,
}

/// A staff member writes on the case: the followers are told, and the
/// resident when the follow-up is public.
pub fn write_follow_up(
    actor: &Actor,
    case: &CaseFacts,
    input: FollowUpInput,
) -> Result<Plan, Refusal> {
    check_allowed(actor, case, CaseAction::WriteFollowUp)?;
    let body = input.body.trim().to_owned();
    let mut errors = FieldErrors::default();
    if !(2..=MAX_FOLLOW_UP_CHARS).contains(&body.chars().count()) {
        errors.add("body", "Écrivez le suivi (10 000 caractères au plus).");
    }
    errors.into_result()?;
    let mut plan = Plan::new(case_ref(case), Some(actor.user_id), Guard::None);
    plan.follow_up = Some(NewFollowUp {
        author: Author::Partner,
        partner_id: case.own_assignment(actor).map(|(p, _)| p),
        category: "message_partner",
        body: body.clone(),
        public: input.public,
    });
    plan.notices.push(Notice::Staff {
        audience: Audience::Followers,
        kind: NotificationKind::NewFollowUp,
        title: "Nouveau suivi sur un signalement",
    });
    if input.public {
        plan.notices.push(Notice::Resident {
            title: "Nouveau message sur votre signalement".into(),
            message: body,
        });
    }
    Ok(plan)
}

/// The case's tags become the ones ticked (raw ids; the territory's live
/// tags only are kept when applied).
pub fn set_tags(actor: &Actor, case: &CaseFacts, tags: &[String]) -> Result<Plan, Refusal> {
    check_allowed(actor, case, CaseAction::ManageTags)?;
    let ids: Vec<u64> = tags.iter().filter_map(|t| t.trim().parse().ok()).collect();
    let mut plan = Plan::new(case_ref(case), Some(actor.user_id), Guard::None);
    plan.audit = Some(AuditEntry {
        action: "tags",
        diff: diff(&[("tags", String::new(), id_list(&ids))]),
    });
    plan.tags = Some(ids);
    Ok(plan)
}

/// Anyone who may see the case follows it, or stops following it
/// (`subscribed`: whether they follow it now).
pub fn toggle_subscription(actor: &Actor, case: &CaseFacts, subscribed: bool) -> Plan {
    let mut plan = Plan::new(case_ref(case), Some(actor.user_id), Guard::None);
    let user_id = actor.user_id;
    plan.subscriptions.push(if subscribed {
        Subscription::Unsubscribe { user_id }
    } else {
        Subscription::Subscribe { user_id }
    });
    plan
}

#[cfg(test)]
mod tests {
    use super::super::testing::{admin, agent, case};
    use super::*;
    use crate::domain::case::AssignmentStatus as A;
    use crate::domain::case::ReportStatus as R;

    fn text(body: &str, public: bool) -> FollowUpInput {
        FollowUpInput {
            body: body.into(),
            public,
        }
    }

    #[test]
    fn an_accepted_partner_writes_for_its_partner_and_followers_hear_of_it() {
        let active = case(R::Active, &[(10, A::Accepted)]);
        let plan = write_follow_up(&agent(10), &active, text("Visite prévue.", false)).unwrap();
        let follow_up = plan.follow_up.as_ref().unwrap();
        assert_eq!(follow_up.partner_id, Some(10));
        assert_eq!(follow_up.category, "message_partner");
        assert_eq!(
            plan.staff_notices(),
            vec![(Audience::Followers, NotificationKind::NewFollowUp)]
        );
        assert!(plan.resident_email().is_none());
        assert!(plan.audit.is_none(), "a follow-up is its own record");
        let public = write_follow_up(&admin(), &active, text("Bonjour", true)).unwrap();
        assert_eq!(public.follow_up.as_ref().unwrap().partner_id, None);
        assert_eq!(
            public.resident_email(),
            Some(("Nouveau message sur votre signalement", "Bonjour"))
        );
    }

    #[test]
    fn a_follow_up_needs_text_and_a_part_in_the_case() {
        let active = case(R::Active, &[(10, A::New)]);
        let Err(Refusal::Invalid(errors)) = write_follow_up(&admin(), &active, text(" ", false))
        else {
            panic!("empty follow-up");
        };
        assert!(errors.get("body").is_some());
        assert_eq!(
            write_follow_up(&agent(10), &active, text("Bonjour", false)),
            Err(Refusal::NotAllowed),
            "not accepted yet"
        );
        assert!(write_follow_up(&admin(), &active, text(&"x".repeat(10_001), false)).is_err());
    }

    #[test]
    fn tags_are_replaced_and_audited() {
        let plan = set_tags(
            &admin(),
            &case(R::Active, &[]),
            &["3".into(), "x".into(), "5".into()],
        )
        .unwrap();
        assert_eq!(plan.tags, Some(vec![3, 5]));
        assert_eq!(
            plan.audit.unwrap().diff,
            Some(serde_json::json!({"tags": ["", "3,5"]}))
        );
        assert_eq!(
            set_tags(&agent(10), &case(R::Active, &[(10, A::New)]), &[]),
            Err(Refusal::NotAllowed)
        );
    }

    #[test]
    fn following_toggles() {
        let active = case(R::Active, &[]);
        assert_eq!(
            toggle_subscription(&admin(), &active, false).subscriptions,
            vec![Subscription::Subscribe { user_id: 1 }]
        );
        assert_eq!(
            toggle_subscription(&admin(), &active, true).subscriptions,
            vec![Subscription::Unsubscribe { user_id: 1 }]
        );
    }
}
