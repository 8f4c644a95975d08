//! The back office's actions on a case's documents, as case commands: each
//! returns a [`Plan`] (with its [`DocumentChange`]s, audit entry and the
//! resident's e-mail when a document becomes visible to them) or a
//! [`Refusal`], and `case_plan::apply` carries the plan out.
//!
//! Uploading and rotating need work outside the database (checking and
//! storing files, turning an image) between the rights check and the plan:
//! [`approve_upload`] and [`approve_rotation`] return a typed approval that
//! only they can build, and [`upload`] / [`rotate`] turn it into the plan
//! once the files exist, so no file is written for a refused request.

use super::DocumentType;
use crate::domain::antivirus::ScanStatus;
use crate::domain::audit::diff;
use crate::domain::case::plan::{AuditEntry, CaseRef, Guard, Notice};
use crate::domain::case::{FieldErrors, Plan, Refusal};
use crate::domain::permissions::Actor;
use crate::domain::workflow::{CaseAction, CaseFacts, can};

/// Longest title (the column is 255 characters).
pub const MAX_TITLE_CHARS: usize = 255;
/// Most files one upload form may carry.
pub const MAX_FILES_PER_UPLOAD: usize = 10;

/// A document of the case, as the commands need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentFacts {
    pub id: u64,
    pub uuid: String,
    pub filename: String,
    pub title: Option<String>,
    pub document_type: DocumentType,
    pub is_public: bool,
    /// Received as an image (re-encoded, with a thumbnail).
    pub is_image: bool,
    pub scan_status: ScanStatus,
    /// The back-office user who added it; `None` for the resident or the system.
    pub uploaded_by: Option<u64>,
}

/// A file checked and written to storage, to record on the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub key: String,
    pub thumbnail_key: Option<String>,
    pub filename: String,
    pub mime: String,
    pub size: u64,
    pub sha256: String,
    pub is_image: bool,
}

impl StoredFile {
    /// The objects it wrote (the file and its thumbnail).
    pub fn object_keys(&self) -> Vec<String> {
        std::iter::once(self.key.clone())
            .chain(self.thumbnail_key.clone())
            .collect()
    }
}

/// A write to the `documents` table, carried out by `case_plan::apply`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentChange {
    /// A new document, `pending` until its antivirus scan (queued with it).
    Add {
        file: StoredFile,
        document_type: DocumentType,
        title: Option<String>,
        is_public: bool,
    },
    /// New title, type and visibility.
    Update {
        document_id: u64,
        title: Option<String>,
        document_type: DocumentType,
        is_public: bool,
    },
    /// The image was turned: the row points at the new objects, only if it
    /// still points at `from_key` (someone else turning it first is a conflict).
    Replace {
        document_id: u64,
        from_key: String,
        file: StoredFile,
    },
    /// Soft delete: no longer listed nor served (already deleted: not found).
    Delete { document_id: u64 },
}

/// What the upload form chose, before any file is stored.
#[derive(Debug, Clone, Default)]
pub struct UploadInput {
    pub document_type: String,
    pub title: String,
    pub public: bool,
    /// How many files the form carries.
    pub files: usize,
}

/// An upload the actor may make, with its checked choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedUpload {
    document_type: DocumentType,
    title: Option<String>,
    public: bool,
}

/// The rename / type / visibility form.
#[derive(Debug, Clone, Default)]
pub struct EditInput {
    pub document_type: String,
    pub title: String,
    pub public: bool,
}

/// A quarter-turn rotation the actor may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovedRotation {
    /// Clockwise quarter turns, 1 to 3.
    pub quarter_turns: u8,
}

fn case_ref(case: &CaseFacts) -> CaseRef {
    CaseRef {
        report_id: case.report_id,
        uuid: case.uuid.clone(),
        territory_id: case.territory_id,
    }
}

/// The policy, then the rule for documents: may the actor manage this case's documents.
fn check_manage(actor: &Actor, case: &CaseFacts) -> Result<(), Refusal> {
    crate::domain::case::refusal::check_allowed(actor, case, CaseAction::ManageDocuments)
}

fn parse_type(code: &str, errors: &mut FieldErrors) -> DocumentType {
    DocumentType::parse(code.trim()).unwrap_or_else(|| {
        errors.add(
            "document_type",
            "Choisissez le type du document dans la liste.",
        );
        DocumentType::Autre
    })
}

fn parse_title(title: &str, errors: &mut FieldErrors) -> Option<String> {
    let title: String = title.trim().chars().filter(|c| !c.is_control()).collect();
    if title.chars().count() > MAX_TITLE_CHARS {
        errors.add("title", "Le titre compte 255 caractères au plus.");
    }
    Some(title).filter(|t| !t.is_empty())
}

/// The diff with the document it is about (unchanged, so `diff` leaves it out).
fn naming(uuid: &str, changes: Option<serde_json::Value>) -> Option<serde_json::Value> {
    let mut changes = changes?;
    if let Some(map) = changes.as_object_mut() {
        map.insert("document".into(), serde_json::json!([uuid, uuid]));
    }
    Some(changes)
}

fn visible_notice(count: usize) -> Notice {
    Notice::Resident {
        title: "Nouveau document sur votre signalement".into(),
        message: if count > 1 {
            format!(
                "{count} documents ont été ajoutés à votre signalement. Vous pouvez les consulter dans votre espace de suivi."
            )
        } else {
            "Un document a été ajouté à votre signalement. Vous pouvez le consulter dans votre espace de suivi.".into()
        },
    }
}

/// Checks an upload before its files are stored: the actor's rights, the
/// type, the title, one to [`MAX_FILES_PER_UPLOAD`] files.
pub fn approve_upload(
    actor: &Actor,
    case: &CaseFacts,
    input: &UploadInput,
) -> Result<ApprovedUpload, Refusal> {
    check_manage(actor, case)?;
    let mut errors = FieldErrors::default();
    let document_type = parse_type(&input.document_type, &mut errors);
    let title = parse_title(&input.title, &mut errors);
    if input.files == 0 {
        errors.add("fichiers", "Choisissez au moins un fichier à ajouter.");
    } else if input.files > MAX_FILES_PER_UPLOAD {
        errors.add("fichiers", "Ajoutez 10 fichiers au plus à la fois.");
    }
    errors.into_result()?;
    Ok(ApprovedUpload {
        document_type,
        title,
        public: input.public,
    })
}

/// The stored files become documents of the case; the resident is told when
/// they may see them.
pub fn upload(
    actor: &Actor,
    case: &CaseFacts,
    approved: ApprovedUpload,
    files: Vec<StoredFile>,
) -> Plan {
    let mut plan = Plan::new(case_ref(case), Some(actor.user_id), Guard::None);
    let names = files
        .iter()
        .map(|f| f.filename.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    plan.audit = Some(AuditEntry {
        action: "document_ajout",
        diff: diff(&[
            ("documents", String::new(), names),
            (
                "type",
                String::new(),
                approved.document_type.code().to_owned(),
            ),
            ("visible_usager", String::new(), approved.public.to_string()),
        ]),
    });
    if approved.public && !files.is_empty() {
        plan.notices.push(visible_notice(files.len()));
    }
    plan.documents = files
        .into_iter()
        .map(|file| DocumentChange::Add {
            file,
            document_type: approved.document_type,
            title: approved.title.clone(),
            is_public: approved.public,
        })
        .collect();
    plan
}

/// Renames a document, changes its type, shows it to the resident or hides it.
pub fn edit(
    actor: &Actor,
    case: &CaseFacts,
    document: &DocumentFacts,
    input: &EditInput,
) -> Result<Plan, Refusal> {
    check_manage(actor, case)?;
    let mut errors = FieldErrors::default();
    let document_type = parse_type(&input.document_type, &mut errors);
    let title = parse_title(&input.title, &mut errors);
    errors.into_result()?;
    let mut plan = Plan::new(case_ref(case), Some(actor.user_id), Guard::None);
    plan.audit = Some(AuditEntry {
        action: "document_modification",
        diff: naming(
            &document.uuid,
            diff(&[
                (
                    "titre",
                    document.title.clone().unwrap_or_default(),
                    title.clone().unwrap_or_default(),
                ),
                (
                    "type",
                    document.document_type.code().to_owned(),
                    document_type.code().to_owned(),
                ),
                (
                    "visible_usager",
                    document.is_public.to_string(),
                    input.public.to_string(),
                ),
            ]),
        ),
    });
    if input.public && !document.is_public {
        plan.notices.push(visible_notice(1));
    }
    plan.documents.push(DocumentChange::Update {
        document_id: document.id,
        title,
        document_type,
        is_public: input.public,
    });
    Ok(plan)
}

/// Checks a rotation before the image is turned: a clean (or not yet
/// scanned) image, by 90, 180 or 270 degrees.
pub fn approve_rotation(
    actor: &Actor,
    case: &CaseFacts,
    document: &DocumentFacts,
    degrees: &str,
) -> Result<ApprovedRotation, Refusal> {
    check_manage(actor, case)?;
    let quarter_turns = match degrees.trim() {
        "90" => 1,
        "180" => 2,
        "270" | "-90" => 3,
        _ => return Err(Refusal::BadInput("rotation de 90, 180 ou 270 degrés")),
    };
    let mut errors = FieldErrors::default();
    if !document.is_image {
        errors.add("rotation", "Seules les photos peuvent être pivotées.");
    } else if document.scan_status.is_blocked() {
        errors.add(
            "rotation",
            "Ce fichier est bloqué par l’antivirus : il ne peut pas être modifié.",
        );
    }
    errors.into_result()?;
    Ok(ApprovedRotation { quarter_turns })
}

/// The turned image replaces the document's objects.
pub fn rotate(
    actor: &Actor,
    case: &CaseFacts,
    document: &DocumentFacts,
    from_key: &str,
    approved: ApprovedRotation,
    file: StoredFile,
) -> Plan {
    let mut plan = Plan::new(case_ref(case), Some(actor.user_id), Guard::None);
    plan.audit = Some(AuditEntry {
        action: "document_rotation",
        diff: diff(&[(
            "document",
            document.uuid.clone(),
            format!(
                "{} +{}°",
                document.uuid,
                u16::from(approved.quarter_turns) * 90
            ),
        )]),
    });
    plan.documents.push(DocumentChange::Replace {
        document_id: document.id,
        from_key: from_key.to_owned(),
        file,
    });
    plan
}

/// Whether the actor may delete this document: whoever added it, or an
/// administrator of the case's territory (super admin included).
pub fn may_delete(actor: &Actor, case: &CaseFacts, document: &DocumentFacts) -> bool {
    can(actor, case, CaseAction::ManageDocuments)
        && (actor.administers_territory(case.territory_id)
            || document.uploaded_by == Some(actor.user_id))
}

/// Deletes a document (soft: kept for the audit, no longer listed nor served).
pub fn delete(actor: &Actor, case: &CaseFacts, document: &DocumentFacts) -> Result<Plan, Refusal> {
    check_manage(actor, case)?;
    if !may_delete(actor, case, document) {
        return Err(Refusal::NotAllowed);
    }
    let mut plan = Plan::new(case_ref(case), Some(actor.user_id), Guard::None);
    plan.audit = Some(AuditEntry {
        action: "document_suppression",
        diff: diff(&[(
            "document",
            format!("{} ({})", document.filename, document.uuid),
            String::new(),
        )]),
    });
    plan.documents.push(DocumentChange::Delete {
        document_id: document.id,
    });
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::AssignmentStatus as A;
    use crate::domain::case::ReportStatus as R;
    use crate::domain::permissions::Membership;
    use crate::domain::roles::Role;

    fn actor(user_id: u64, role: Role, partner_id: u64) -> Actor {
        Actor {
            user_id,
            role,
            memberships: vec![Membership {
                partner_id,
                territory_id: 69,
            }],
        }
    }

    fn case(assignments: &[(u64, A)]) -> CaseFacts {
        CaseFacts {
            report_id: 7,
            uuid: "0c1b2a39-5d6e-4f70-8a9b-0c1d2e3f4a5b".into(),
            version: 3,
            territory_id: 69,
            status: R::Active,
            assignments: assignments.to_vec(),
        }
    }

    fn document(uploaded_by: Option<u64>) -> DocumentFacts {
        DocumentFacts {
            id: 5,
            uuid: "d".into(),
            filename: "photo.jpg".into(),
            title: None,
            document_type: DocumentType::PhotoSituation,
            is_public: false,
            is_image: true,
            scan_status: ScanStatus::Clean,
            uploaded_by,
        }
    }

    fn file(name: &str) -> StoredFile {
        StoredFile {
            key: format!("documents/{name}"),
            thumbnail_key: None,
            filename: name.into(),
            mime: "application/pdf".into(),
            size: 3,
            sha256: "00".into(),
            is_image: false,
        }
    }

    #[test]
    fn an_accepted_agent_uploads_and_a_public_upload_tells_the_resident() {
        let agent = actor(110, Role::Agent, 10);
        let facts = case(&[(10, A::Accepted)]);
        let input = UploadInput {
            document_type: "rapport_visite".into(),
            title: " Rapport ".into(),
            public: true,
            files: 2,
        };
        let approved = approve_upload(&agent, &facts, &input).unwrap();
        let plan = upload(&agent, &facts, approved, vec![file("a.pdf"), file("b.pdf")]);
        assert_eq!(plan.documents.len(), 2);
        let DocumentChange::Add {
            document_type,
            title,
            is_public,
            ..
        } = &plan.documents[0]
        else {
            panic!("an addition");
        };
        assert_eq!(*document_type, DocumentType::RapportVisite);
        assert_eq!(title.as_deref(), Some("Rapport"));
        assert!(*is_public);
        assert_eq!(
            plan.resident_email().map(|(t, _)| t),
            Some("Nouveau document sur votre signalement")
        );
        assert_eq!(
            plan.audit.as_ref().map(|a| a.action),
            Some("document_ajout")
        );
    }

    #[test]
    fn an_upload_needs_a_part_in_the_case_a_known_type_and_files() {
        let facts = case(&[(10, A::New)]);
        let input = UploadInput {
            document_type: "bail".into(),
            files: 1,
            ..UploadInput::default()
        };
        assert_eq!(
            approve_upload(&actor(110, Role::Agent, 10), &facts, &input),
            Err(Refusal::NotAllowed),
            "assignment not accepted"
        );
        let admin = actor(1, Role::TerritoryAdmin, 1);
        let bad = UploadInput {
            document_type: "PHOTO_VISITE".into(),
            files: 0,
            ..UploadInput::default()
        };
        let Err(Refusal::Invalid(errors)) = approve_upload(&admin, &facts, &bad) else {
            panic!("invalid");
        };
        assert!(errors.get("document_type").is_some());
        assert!(errors.get("fichiers").is_some());
        let private = upload(
            &admin,
            &facts,
            approve_upload(&admin, &facts, &input).unwrap(),
            vec![file("a.pdf")],
        );
        assert!(private.resident_email().is_none());
    }

    #[test]
    fn deleting_is_for_the_uploader_or_the_territory_admin() {
        let facts = case(&[(10, A::Accepted), (11, A::Accepted)]);
        let owner = actor(110, Role::Agent, 10);
        let colleague = actor(111, Role::Agent, 11);
        let admin = actor(1, Role::TerritoryAdmin, 1);
        let mine = document(Some(110));
        assert!(delete(&owner, &facts, &mine).is_ok());
        assert_eq!(delete(&colleague, &facts, &mine), Err(Refusal::NotAllowed));
        let plan = delete(&admin, &facts, &mine).unwrap();
        assert_eq!(
            plan.documents,
            vec![DocumentChange::Delete { document_id: 5 }]
        );
        assert_eq!(plan.audit.unwrap().action, "document_suppression");
        assert_eq!(
            delete(&owner, &facts, &document(None)),
            Err(Refusal::NotAllowed),
            "the resident's file"
        );
    }

    #[test]
    fn editing_audits_the_changes_and_showing_tells_the_resident() {
        let facts = case(&[]);
        let admin = actor(1, Role::TerritoryAdmin, 1);
        let input = EditInput {
            document_type: "photo_desordre".into(),
            title: "Salle de bains".into(),
            public: true,
        };
        let plan = edit(&admin, &facts, &document(None), &input).unwrap();
        let diff = plan.audit.as_ref().unwrap().diff.clone().unwrap();
        assert_eq!(
            diff["type"],
            serde_json::json!(["photo_situation", "photo_desordre"])
        );
        assert_eq!(diff["document"], serde_json::json!(["d", "d"]));
        assert!(plan.resident_email().is_some());
        let hidden = EditInput {
            public: false,
            ..input
        };
        assert!(
            edit(&admin, &facts, &document(None), &hidden)
                .unwrap()
                .resident_email()
                .is_none()
        );
        let long = EditInput {
            document_type: "autre".into(),
            title: "x".repeat(256),
            public: false,
        };
        assert!(matches!(
            edit(&admin, &facts, &document(None), &long),
            Err(Refusal::Invalid(_))
        ));
    }

    #[test]
    fn only_images_turn_by_quarter_turns() {
        let facts = case(&[]);
        let admin = actor(1, Role::TerritoryAdmin, 1);
        assert_eq!(
            approve_rotation(&admin, &facts, &document(None), "90"),
            Ok(ApprovedRotation { quarter_turns: 1 })
        );
        assert_eq!(
            approve_rotation(&admin, &facts, &document(None), "-90"),
            Ok(ApprovedRotation { quarter_turns: 3 })
        );
        assert!(matches!(
            approve_rotation(&admin, &facts, &document(None), "45"),
            Err(Refusal::BadInput(_))
        ));
        let pdf = DocumentFacts {
            is_image: false,
            ..document(None)
        };
        assert!(matches!(
            approve_rotation(&admin, &facts, &pdf, "90"),
            Err(Refusal::Invalid(_))
        ));
    }
}
