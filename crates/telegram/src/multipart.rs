//! `multipart/form-data` for uploads, built by hand: a handful of text fields and files is all
//! the Bot API needs, and it spares the workspace reqwest's multipart feature.

/// A form being built.
pub(crate) struct Form {
    boundary: String,
    body: Vec<u8>,
}

impl Form {
    pub fn new() -> Self {
        let mut random = [0u8; 12];
        // A fixed boundary would still work for our own bodies; randomness only makes a clash
        // with file bytes (which would cut the part short) practically impossible.
        let _ = getrandom::fill(&mut random);
        let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
        Self { boundary: format!("nanopost-{hex}"), body: Vec::new() }
    }

    pub fn text(&mut self, name: &str, value: &str) {
        self.head(name, None, None);
        self.body.extend_from_slice(value.as_bytes());
        self.body.extend_from_slice(b"\r\n");
    }

    pub fn file(&mut self, name: &str, file_name: &str, content_type: &str, bytes: &[u8]) {
        self.head(name, Some(file_name), Some(content_type));
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
    }

    fn head(&mut self, name: &str, file_name: Option<&str>, content_type: Option<&str>) {
        let mut head = format!("--{}\r\nContent-Disposition: form-data; name=\"{}\"", self.boundary, quote(name));
        if let Some(f) = file_name {
            head.push_str(&format!("; filename=\"{}\"", quote(f)));
        }
        head.push_str("\r\n");
        if let Some(ct) = content_type {
            head.push_str(&format!("Content-Type: {}\r\n", ct.replace(['\r', '\n'], "")));
        }
        head.push_str("\r\n");
        self.body.extend_from_slice(head.as_bytes());
    }

    /// The `Content-Type` header value and the finished body.
    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body.extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (format!("multipart/form-data; boundary={}", self.boundary), self.body)
    }
}

/// Names and file names go between double quotes: no quotes or line breaks inside.
fn quote(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, '"' | '\r' | '\n' | '\\')).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_delimited() {
        let mut f = Form::new();
        f.text("chat_id", "42");
        f.file("photo", "a\".jpg", "image/jpeg", b"\xff\xd8\xff");
        let (ct, body) = f.finish();
        let boundary = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.starts_with(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n42\r\n"
            ))
        );
        assert!(text.contains("filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"));
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
    }
}
