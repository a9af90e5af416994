//! Uploading a photo before the mutations that need it, with its progress for the view.

use crux_core::Command;

use super::{Step, UploadProgress};
use crate::effects::{UploadErrorKind, UploadRequest, UploadUpdate};
use crate::event::{Event, Internal};
use crate::model::local::PhotoRecord;
use crate::model::{Cmd, Intent, LocalWrite, Model};

impl Model {
    pub(super) fn start_upload(&mut self, sha256: String) -> Cmd {
        let Some(photo) = self.local.photos.get(&sha256).cloned() else {
            return self.start_pull();
        };
        if let Some(why) = &photo.broken {
            // Nothing can go past this photo until the user removes it; say so.
            self.sync.last_error = Some(format!("A photo cannot be uploaded: {why}"));
            self.sync.step = Step::Idle;
            return Command::done();
        }
        let Some(token) = self.local.session.as_ref().and_then(|s| s.token.clone()) else {
            return Command::done();
        };
        let op = self.next_op();
        self.sync.step = Step::Upload {
            op,
            sha256: sha256.clone(),
        };
        self.sync.upload = Some(UploadProgress {
            sha256: sha256.clone(),
            sent: 0,
            total: photo.size,
        });
        Command::stream_from_shell(UploadRequest {
            server_url: self.config.server_url.clone(),
            token,
            file_ref: photo.file_ref.clone(),
            sha256,
            size: photo.size,
            content_type: photo.content_type.clone(),
        })
        .then_send(move |update| Event::Internal(Internal::Upload { op, update }))
    }

    pub(crate) fn upload_update(&mut self, op: u64, update: UploadUpdate) -> Cmd {
        let Step::Upload {
            op: current,
            sha256,
        } = self.sync.step.clone()
        else {
            return Command::done();
        };
        if current != op {
            return Command::done();
        }
        match update {
            UploadUpdate::Progress { sent, total } => {
                self.sync.upload = Some(UploadProgress {
                    sha256,
                    sent: sent.min(total),
                    total,
                });
                Command::done()
            }
            UploadUpdate::Done => {
                self.sync.upload = None;
                let Some(photo) = self.local.photos.get(&sha256).cloned() else {
                    self.sync.step = Step::Idle;
                    return self.sync_next();
                };
                self.sync.step = Step::Applying;
                self.enqueue(Intent::Sync {
                    writes: vec![LocalWrite::PhotoPut(PhotoRecord {
                        uploaded: true,
                        ..photo
                    })],
                })
            }
            UploadUpdate::Failed(e) => {
                self.sync.upload = None;
                match e.kind {
                    UploadErrorKind::Transient => {
                        self.sync.step = Step::Idle;
                        self.backoff(e.message, None)
                    }
                    UploadErrorKind::Unauthorized => self.session_expired(None),
                    UploadErrorKind::Refused | UploadErrorKind::FileMissing => {
                        let Some(photo) = self.local.photos.get(&sha256).cloned() else {
                            self.sync.step = Step::Idle;
                            return Command::done();
                        };
                        let now = self.clock.unwrap_or_default();
                        let notice = self.notice_write(
                            now,
                            format!("A receipt photo could not be uploaded: {}. Remove it from the receipt and take it again.", e.message),
                            None,
                        );
                        self.sync.step = Step::Applying;
                        self.enqueue(Intent::Sync {
                            writes: vec![
                                LocalWrite::PhotoPut(PhotoRecord {
                                    broken: Some(e.message),
                                    ..photo
                                }),
                                notice,
                            ],
                        })
                    }
                }
            }
        }
    }
}
