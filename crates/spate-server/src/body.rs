//! A request body as hyper handed it over: the frames it arrived in, kept as they are. A
//! 700 KB PutRecords body comes in many frames; the put paths read them in place, and only
//! what needs the body in one buffer (the generic decoder, signature checks) has it copied,
//! once.

use std::sync::OnceLock;

use bytes::{Bytes, BytesMut};

#[derive(Debug, Default)]
pub struct Body {
    /// None of them empty.
    frames: Vec<Bytes>,
    /// The frames in one buffer, made the first time it is asked for.
    whole: OnceLock<Bytes>,
}

impl Body {
    pub fn from_frames(mut frames: Vec<Bytes>) -> Body {
        frames.retain(|frame| !frame.is_empty());
        Body {
            frames,
            whole: OnceLock::new(),
        }
    }

    /// The frames, in order.
    pub fn frames(&self) -> &[Bytes] {
        &self.frames
    }

    /// The body in one buffer: its one frame as it is, or the frames copied together (once).
    pub fn whole(&self) -> &Bytes {
        self.whole.get_or_init(|| match self.frames.as_slice() {
            [] => Bytes::new(),
            [one] => one.clone(),
            frames => {
                let mut whole = BytesMut::with_capacity(frames.iter().map(Bytes::len).sum());
                for frame in frames {
                    whole.extend_from_slice(frame);
                }
                whole.freeze()
            }
        })
    }
}

impl Body {
    /// The body as one frame, its frames let go: for a reader that takes it whole anyway, so
    /// that a large body is not held twice.
    pub fn joined(self) -> Body {
        Body::from(self.whole().clone())
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Body {
        Body::from_frames(vec![bytes])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_frame_is_the_whole_body_without_a_copy() {
        let frame = Bytes::from_static(b"{\"a\":1}");
        let body = Body::from(frame.clone());
        assert_eq!(body.whole().as_ptr(), frame.as_ptr());
        assert_eq!(body.frames(), [frame]);
    }

    #[test]
    fn frames_are_joined_in_order_and_empty_ones_dropped() {
        let parts: Vec<Bytes> = ["{\"a\"", "", ":", "1}"]
            .into_iter()
            .map(|part| Bytes::from_static(part.as_bytes()))
            .collect();
        let body = Body::from_frames(parts);
        assert_eq!(body.frames().len(), 3);
        assert_eq!(&body.whole()[..], b"{\"a\":1}");
        assert_eq!(Body::default().whole(), &Bytes::new());
        let joined = body.joined();
        assert_eq!(joined.frames().len(), 1);
        assert_eq!(&joined.frames()[0][..], b"{\"a\":1}");
    }
}
