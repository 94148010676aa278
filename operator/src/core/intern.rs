//! One shared string per distinct text. The cluster snapshot passes the
//! names, images and image IDs it reads through an [`Interner`], so that
//! the image a thousand pods run is one allocation: evaluation then reads
//! a string that is already in cache instead of a thousand copies spread
//! over memory, and can compare equal strings by address.

use std::sync::Arc;

use super::FastMap;

/// Hands out one `Arc<str>` per distinct text.
#[derive(Debug, Default)]
pub struct Interner {
    strings: FastMap<Arc<str>, ()>,
}

impl Interner {
    /// The shared string with this text, made now if it is new.
    pub fn intern(&mut self, text: &str) -> Arc<str> {
        if let Some((shared, ())) = self.strings.get_key_value(text) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(text);
        self.strings.insert(Arc::clone(&shared), ());
        shared
    }

    /// How many distinct texts it holds: what its memory grows with.
    pub fn distinct(&self) -> usize {
        self.strings.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thousand_pods_running_one_image_cost_one_string() {
        let mut interner = Interner::default();
        for _ in 0..1000 {
            let image = interner.intern(&String::from("docker.io/library/nginx:1.29.8-alpine"));
            assert_eq!(&*image, "docker.io/library/nginx:1.29.8-alpine");
        }
        let other = interner.intern("docker.io/library/nginx:1.31.4-alpine");
        assert_eq!(&*other, "docker.io/library/nginx:1.31.4-alpine");
        assert_eq!(interner.distinct(), 2);
    }
}
