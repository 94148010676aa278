//! Caches for registry answers.
//!
//! - [`TtlCache`]: answers that change (tag lists, what a tag points at),
//!   kept for a time-to-live.
//! - [`ContentCache`]: answers addressed by their digest (manifests,
//!   indexes, image configs), which never change, kept in an LRU bounded by
//!   bytes so memory stays flat however many images a cluster runs.
//!
//! Both are plain data structures; the resolver wraps them in locks and
//! puts single-flight in front.

use std::{
    collections::{BTreeMap, HashMap},
    hash::Hash,
    time::{Duration, Instant},
};

/// Values that expire.
#[derive(Debug)]
pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: HashMap<K, (Instant, V)>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    /// An empty cache whose entries live `ttl`.
    pub fn new(ttl: Duration) -> TtlCache<K, V> {
        TtlCache {
            ttl,
            entries: HashMap::new(),
        }
    }

    /// The value if it is younger than the TTL.
    pub fn get(&self, key: &K, now: Instant) -> Option<V> {
        self.entries
            .get(key)
            .filter(|(stored, _)| now.saturating_duration_since(*stored) < self.ttl)
            .map(|(_, value)| value.clone())
    }

    /// Stores a value, dropping expired entries now and then so the map
    /// does not grow with repositories nobody asks about any more.
    pub fn insert(&mut self, key: K, value: V, now: Instant) {
        if self.entries.len() >= 64 && self.entries.len().is_power_of_two() {
            let ttl = self.ttl;
            self.entries
                .retain(|_, (stored, _)| now.saturating_duration_since(*stored) < ttl);
        }
        self.entries.insert(key, (now, value));
    }
}

/// Immutable content by key, least recently used evicted first, bounded by
/// the total size of the values.
#[derive(Debug)]
pub struct ContentCache<K, V> {
    capacity: usize,
    used: usize,
    tick: u64,
    entries: HashMap<K, (u64, usize, V)>,
    /// tick → key, oldest first.
    order: BTreeMap<u64, K>,
}

impl<K: Eq + Hash + Clone, V: Clone> ContentCache<K, V> {
    /// An empty cache holding at most `capacity` bytes.
    pub fn new(capacity: usize) -> ContentCache<K, V> {
        ContentCache {
            capacity,
            used: 0,
            tick: 0,
            entries: HashMap::new(),
            order: BTreeMap::new(),
        }
    }

    /// The value, marking it recently used.
    pub fn get(&mut self, key: &K) -> Option<V> {
        let (tick, _, value) = self.entries.get_mut(key)?;
        self.order.remove(tick);
        self.tick += 1;
        *tick = self.tick;
        self.order.insert(self.tick, key.clone());
        Some(value.clone())
    }

    /// Stores a value of `size` bytes, evicting the least recently used
    /// until it fits. A value larger than the whole cache is not kept.
    pub fn insert(&mut self, key: K, value: V, size: usize) {
        if size > self.capacity {
            return;
        }
        if let Some((tick, old_size, _)) = self.entries.remove(&key) {
            self.order.remove(&tick);
            self.used -= old_size;
        }
        while self.used + size > self.capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some((_, old_size, _)) = self.entries.remove(&oldest) {
                self.used -= old_size;
            }
        }
        self.tick += 1;
        self.order.insert(self.tick, key.clone());
        self.entries.insert(key, (self.tick, size, value));
        self.used += size;
    }

    /// Bytes held.
    #[cfg(test)]
    pub fn used(&self) -> usize {
        self.used
    }

    /// Entries held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn ttl_entries_expire() {
        let start = Instant::now();
        let mut cache = TtlCache::new(Duration::from_secs(60));
        cache.insert("docker.io/library/nginx", 3, start);
        assert_eq!(
            cache.get(&"docker.io/library/nginx", start + Duration::from_secs(59)),
            Some(3)
        );
        assert_eq!(
            cache.get(&"docker.io/library/nginx", start + Duration::from_secs(60)),
            None
        );
    }

    #[test]
    fn the_least_recently_used_content_goes_first() {
        let mut cache = ContentCache::new(100);
        cache.insert("a", 'a', 40);
        cache.insert("b", 'b', 40);
        assert_eq!(cache.get(&"a"), Some('a'));
        cache.insert("c", 'c', 40);
        assert_eq!(cache.get(&"b"), None, "b was used least recently");
        assert_eq!(cache.get(&"a"), Some('a'));
        assert_eq!(cache.get(&"c"), Some('c'));
        assert_eq!(cache.used(), 80);
    }

    #[test]
    fn content_larger_than_the_cache_is_not_kept() {
        let mut cache = ContentCache::new(10);
        cache.insert("small", 1, 5);
        cache.insert("huge", 2, 11);
        assert_eq!(cache.get(&"huge"), None);
        assert_eq!(cache.get(&"small"), Some(1));
    }

    proptest! {
        #[test]
        fn the_cache_never_holds_more_than_its_capacity(ops in proptest::collection::vec((0u8..20, 1usize..50), 0..200)) {
            let mut cache = ContentCache::new(100);
            for (key, size) in ops {
                if size % 3 == 0 { cache.get(&key); } else { cache.insert(key, (), size); }
                prop_assert!(cache.used() <= 100);
                prop_assert_eq!(cache.len(), cache.order.len());
            }
        }
    }
}
