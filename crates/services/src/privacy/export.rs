//! Export archives: a person's or a workspace's data as JSON files plus media files, with a
//! manifest of digests, built by a job and downloadable until the link expires.

use super::PRIVACY_POLICY_VERSION;
use crate::Services;
use crate::actor::Actor;
use crate::audit::{AuditAction, AuditEvent};
use crate::error::{Result, ServiceError};
use jiff::Timestamp;
use nanopost_domain::ids::{MediaId, UserId, WorkspaceId};
use nanopost_domain::role::Permission;
use nanopost_storage::{ExportInfo, PrivacyExport, TableDump, User};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Job kind: build a privacy export archive.
pub const EXPORT_JOB: &str = "privacy.export";

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct ExportPayload {
    user_id: UserId,
    workspace_id: Option<WorkspaceId>,
}

fn export_key(p: &ExportPayload) -> String {
    match p.workspace_id {
        Some(ws) => format!("{EXPORT_JOB}:{}:{ws}", p.user_id),
        None => format!("{EXPORT_JOB}:{}:me", p.user_id),
    }
}

// ---------------------------------------------------------------------------------------------
// Export archives

/// The archive format: a POSIX tar of JSON files with `manifest.json` listing every other file
/// with its size and SHA-256.
pub const EXPORT_FORMAT: &str = "nanopost-export/1";

impl Services {
    // -----------------------------------------------------------------------------------------
    // Export.
    //
    // A request enqueues an export job (one at a time per person and scope: a double click
    // does not build two); the job builds the archive and the page lists it when it is ready.

    /// Asks for an archive of everything held about the user; a job builds it.
    pub async fn request_my_export(&self, user: &User) -> Result<()> {
        self.enqueue_export(ExportPayload { user_id: user.id, workspace_id: None }).await
    }

    /// Asks for an archive of everything in the workspace. Owners only.
    pub async fn request_workspace_export(&self, actor: &Actor) -> Result<()> {
        actor.require(Permission::ManageWorkspace)?;
        self.enqueue_export(ExportPayload { user_id: actor.user_id, workspace_id: Some(actor.workspace_id) }).await
    }

    /// Whether an archive the user asked for (theirs, or the workspace's) is still being built.
    pub async fn export_in_progress(&self, user: &User, ws: Option<WorkspaceId>) -> Result<bool> {
        let key = export_key(&ExportPayload { user_id: user.id, workspace_id: ws });
        let job = nanopost_jobs::JobQueue::job_by_key(self.queue(), &key)
            .await
            .map_err(|e| ServiceError::Internal(format!("job queue: {e}")))?;
        Ok(job.is_some_and(|j| j.state != nanopost_jobs::JobState::Dead))
    }

    async fn enqueue_export(&self, p: ExportPayload) -> Result<()> {
        let job = nanopost_jobs::NewJob::new(EXPORT_JOB, serde_json::to_value(p).unwrap_or_default(), self.now())
            .unique_key(export_key(&p))
            .max_attempts(5);
        let job = match p.workspace_id {
            Some(ws) => job.workspace(ws),
            None => job,
        };
        self.enqueue(&[job]).await?;
        Ok(())
    }

    /// Handles an [`EXPORT_JOB`]: builds the archive as the requester may see it now (a
    /// member who lost the owner role meanwhile gets nothing).
    pub async fn run_export(&self, job: &nanopost_jobs::Job) -> nanopost_jobs::JobResult {
        use nanopost_jobs::JobError;
        let p: ExportPayload = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobError::permanent(format!("malformed {EXPORT_JOB} payload: {e}")))?;
        let retry = |e: ServiceError| match e {
            ServiceError::Internal(m) => JobError::retry(m),
            other => JobError::permanent(format!("the export was not built: {other}")),
        };
        let user = self.store().user_by_id(p.user_id).await.map_err(|e| retry(e.into()))?;
        let deleting = self.store().account_deletion(p.user_id).await.map_err(|e| retry(e.into()))?.is_some();
        let Some(user) = user.filter(|_| !deleting) else {
            return Ok(vec![]); // The account is gone or being deleted: nothing to hand out.
        };
        match p.workspace_id {
            None => self.export_my_data(&user).await.map_err(retry)?,
            Some(ws) => {
                let actor = self.actor(&user, ws).await.map_err(retry)?;
                self.export_workspace(&actor).await.map_err(retry)?
            }
        };
        Ok(vec![])
    }

    /// Builds the archive of everything held about the user; downloadable until it expires.
    /// (Called by the export job; people ask through [`Services::request_my_export`].)
    pub async fn export_my_data(&self, user: &User) -> Result<ExportInfo> {
        let dump = self.store().dump_person(user.id, &user.email).await?;
        let media = self.person_media_files(&dump).await?;
        let subject = serde_json::json!({ "kind": "person", "user_id": user.id, "email": user.email.as_str() });
        let info = self.store_export(user.id, None, subject, dump, media).await?;
        self.audit(AuditEvent::account(user.id, AuditAction::DataExported).target("export", info.id)).await;
        Ok(info)
    }

    /// The files of the media the person uploaded: one per row of their `data/media.json`
    /// (same digests), read from the media store and checked against the digest on the way.
    async fn person_media_files(&self, dump: &[TableDump]) -> Result<Vec<(String, Vec<u8>)>> {
        let Some(media) = dump.iter().find(|d| d.table == "media") else { return Ok(vec![]) };
        let mut out = Vec::with_capacity(media.rows.len());
        for row in &media.rows {
            let id = |col: &str| row.get(col).and_then(|v| v.as_str()).and_then(|s| s.parse::<Uuid>().ok());
            let (Some(id), Some(ws)) = (id("id"), id("workspace_id")) else {
                return Err(ServiceError::Internal("a media row of the export has no id".into()));
            };
            // Deleted since the rows were read: nothing left to include.
            let Some(m) = self.store().media(WorkspaceId::from_uuid(ws), MediaId::from_uuid(id)).await? else {
                continue;
            };
            let bytes = self.media_bytes(&m).await?;
            out.push((format!("media/{}.{}", m.id, nanopost_media::extension(crate::media::format_of(&m))), bytes));
        }
        Ok(out)
    }

    /// Builds the archive of everything in the workspace. Owners only.
    pub async fn export_workspace(&self, actor: &Actor) -> Result<ExportInfo> {
        actor.require(Permission::ManageWorkspace)?;
        let ws = self.store().workspace(actor.workspace_id).await?.ok_or(ServiceError::NotFound)?;
        let dump = self.store().dump_workspace(ws.id).await?;
        let members: Vec<_> = self
            .store()
            .members(ws.id)
            .await?
            .into_iter()
            .map(|m| {
                serde_json::json!({
                    "user_id": m.user_id, "email": m.email.as_str(), "display_name": m.display_name,
                    "role": m.role.as_str(), "joined_at": m.joined_at.to_string(),
                })
            })
            .collect();
        let mut extra = vec![("data/members.json".to_owned(), pretty(&serde_json::Value::Array(members)))];
        // The media files themselves, beside their rows in data/media.json (same digests).
        extra.extend(self.media_export_files(ws.id).await?);
        let subject = serde_json::json!({ "kind": "workspace", "workspace_id": ws.id, "name": ws.name });
        let info = self.store_export(actor.user_id, Some(ws.id), subject, dump, extra).await?;
        self.audit(AuditEvent::by(actor, AuditAction::DataExported).target("export", info.id)).await;
        Ok(info)
    }

    pub async fn my_exports(&self, user: &User) -> Result<Vec<ExportInfo>> {
        Ok(self.store().exports_of(user.id, self.now()).await?)
    }

    /// The archive, to its requester only, until it expires.
    pub async fn download_export(&self, user: &User, id: Uuid) -> Result<PrivacyExport> {
        self.store().privacy_export(id, user.id, self.now()).await?.ok_or(ServiceError::NotFound)
    }

    async fn store_export(
        &self,
        requester: UserId,
        ws: Option<WorkspaceId>,
        subject: serde_json::Value,
        dump: Vec<TableDump>,
        extra: Vec<(String, Vec<u8>)>,
    ) -> Result<ExportInfo> {
        let now = self.now();
        let mut files: Vec<(String, Vec<u8>)> = dump
            .into_iter()
            .map(|d| {
                (
                    format!("data/{}.json", d.table),
                    pretty(&serde_json::Value::Array(d.rows.into_iter().map(serde_json::Value::Object).collect())),
                )
            })
            .collect();
        files.extend(extra);
        files.push(("README.txt".into(), README.as_bytes().to_vec()));
        let archive = export_archive(&subject, now, files);
        let export = PrivacyExport {
            id: Uuid::now_v7(),
            requested_by: requester,
            workspace_id: ws,
            created_at: now,
            expires_at: now + self.config().privacy.export_ttl,
            sha256: hex(&Sha256::digest(&archive)),
            archive,
        };
        self.store().insert_export(&export).await?;
        Ok(ExportInfo {
            id: export.id,
            workspace_id: ws,
            created_at: export.created_at,
            expires_at: export.expires_at,
            sha256: export.sha256,
            bytes: i64::try_from(export.archive.len()).unwrap_or(i64::MAX),
        })
    }
}

const README: &str = "This archive holds the personal data Nanopost keeps about you (or your workspace).\n\
\n\
- manifest.json lists every file with its size and SHA-256 digest.\n\
- data/<table>.json holds the rows of one table, one JSON object per row; times are RFC 3339 (UTC).\n\
- media/<id>.<ext> holds each media file as stored (metadata removed); data/media.json has its digest.\n\
\n\
Passwords, token hashes, encrypted tokens and keys are never included.\n";

fn pretty(v: &serde_json::Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_default();
    out.push(b'\n');
    out
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The archive: `manifest.json` first (format, subject, time, and each file's size and
/// SHA-256), then the files.
pub fn export_archive(subject: &serde_json::Value, now: Timestamp, files: Vec<(String, Vec<u8>)>) -> Vec<u8> {
    let listed: Vec<_> = files
        .iter()
        .map(|(path, bytes)| serde_json::json!({ "path": path, "bytes": bytes.len(), "sha256": hex(&Sha256::digest(bytes)) }))
        .collect();
    let manifest = serde_json::json!({
        "format": EXPORT_FORMAT,
        "generated_at": now.to_string(),
        "privacy_policy_version": PRIVACY_POLICY_VERSION,
        "subject": subject,
        "files": listed,
    });
    let mut all = vec![("manifest.json".to_owned(), pretty(&manifest))];
    all.extend(files);
    tar::write(&all, now.as_second())
}

/// A minimal POSIX (ustar) tar writer: regular files only, names under 100 bytes.
pub mod tar {
    const BLOCK: usize = 512;

    pub fn write(files: &[(String, Vec<u8>)], mtime: i64) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data) in files {
            out.extend_from_slice(&header(name, data.len(), mtime));
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
        }
        out.resize(out.len() + 2 * BLOCK, 0);
        out
    }

    fn header(name: &str, size: usize, mtime: i64) -> [u8; BLOCK] {
        let mut h = [0u8; BLOCK];
        let name = name.as_bytes();
        let n = name.len().min(99);
        h[..n].copy_from_slice(&name[..n]);
        octal(&mut h[100..108], 0o644);
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], size as u64);
        octal(&mut h[136..148], u64::try_from(mtime).unwrap_or(0));
        h[148..156].fill(b' ');
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        let s = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
        h
    }

    /// Zero-padded octal filling the field but its last byte (a NUL).
    fn octal(field: &mut [u8], v: u64) {
        let w = field.len() - 1;
        let s = format!("{v:0w$o}");
        let s = s.as_bytes();
        field[..w].copy_from_slice(&s[s.len() - w..]);
        field[w] = 0;
    }

    /// Reads back what [`write`] wrote (for tests and checks): (name, bytes) per file.
    pub fn read(mut archive: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
        let mut out = Vec::new();
        while archive.len() >= BLOCK {
            let h = &archive[..BLOCK];
            if h.iter().all(|&b| b == 0) {
                break;
            }
            let name_end = h[..100].iter().position(|&b| b == 0).unwrap_or(100);
            let name = String::from_utf8(h[..name_end].to_vec()).map_err(|_| "file name is not UTF-8")?;
            let size_text = std::str::from_utf8(&h[124..135]).map_err(|_| "bad size field")?;
            let size =
                usize::from_str_radix(size_text.trim_matches(|c| c == '\0' || c == ' '), 8).map_err(|_| "bad size")?;
            let start = BLOCK;
            let end = start + size;
            if archive.len() < end {
                return Err(format!("{name}: truncated"));
            }
            out.push((name, archive[start..end].to_vec()));
            archive = &archive[(end.div_ceil(BLOCK) * BLOCK).min(archive.len())..];
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_round_trips_and_pads_to_blocks() {
        let files = vec![("a.json".to_owned(), b"{}".to_vec()), ("data/b.json".to_owned(), vec![b'x'; 1000])];
        let bytes = tar::write(&files, 1_800_000_000);
        assert_eq!(bytes.len() % 512, 0);
        assert_eq!(tar::read(&bytes).unwrap(), files);
    }

    #[test]
    fn the_manifest_lists_every_file_with_its_digest() {
        let files = vec![("data/users.json".to_owned(), b"[]\n".to_vec())];
        let archive = export_archive(&serde_json::json!({}), Timestamp::from_second(0).unwrap(), files);
        let read = tar::read(&archive).unwrap();
        assert_eq!(read[0].0, "manifest.json");
        let manifest: serde_json::Value = serde_json::from_slice(&read[0].1).unwrap();
        assert_eq!(manifest["files"][0]["path"], "data/users.json");
        assert_eq!(manifest["files"][0]["sha256"], hex(&Sha256::digest(b"[]\n")));
    }
}
