//! What the media repository stores and returns. The bytes themselves live in the media store
//! (`nanopost-media`); a row says what they are and where.

use jiff::Timestamp;
use nanopost_domain::ids::{BrandId, MediaId, PostId, UserId, WorkspaceId};
use nanopost_domain::post::PostState;
use std::fmt;
use std::str::FromStr;

/// Image or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaType {
    Image,
    Video,
}

impl MediaType {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Image => "image",
            MediaType::Video => "video",
        }
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MediaType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "image" => Ok(MediaType::Image),
            "video" => Ok(MediaType::Video),
            _ => Err(format!("unknown media type {s:?}")),
        }
    }
}

/// One item of the media library: an upload, or a rendition made from one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRecord {
    pub id: MediaId,
    pub workspace_id: WorkspaceId,
    pub brand_id: Option<BrandId>,
    pub kind: MediaType,
    /// Sniffed from the content, never taken from the upload's headers.
    pub mime: String,
    pub bytes: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
    /// `sha256:<hex>` of the stored bytes.
    pub digest: String,
    /// Where the bytes are in the media store (`<workspace id>/<media id>`).
    pub storage_key: String,
    /// The uploaded file's name, cleaned, for display only.
    pub file_name: String,
    pub alt_text: String,
    /// Sorted, without duplicates.
    pub tags: Vec<String>,
    /// Renditions: the original they were made from, and the fixes (canonical JSON).
    pub parent_id: Option<MediaId>,
    pub fixes: Option<String>,
    /// `None` once the uploader's account is erased.
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
}

/// Which media to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaFilter {
    pub brand_id: Option<BrandId>,
    pub tag: Option<String>,
    /// Leave out renditions (the library shows what people uploaded).
    pub originals_only: bool,
}

/// A post whose content names a media item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaUse {
    pub post_id: PostId,
    pub state: PostState,
    pub media_id: MediaId,
}
