//! The shared prefix cache: a radix tree of token sequences, each with a value (the frozen
//! keys and values of that sequence), evicted least recently used first under a byte budget.
//!
//! A value computed for tokens `t` serves every query that starts with any prefix of `t`: the
//! lookup walks the tree as far as the query matches and returns an entry below that point
//! with the length matched. So no key is kept that is a prefix of another key: inserting
//! `t` drops the entries it extends, and inserting a prefix of a kept key only refreshes it.
//! Entries therefore sit at the leaves, and every leaf holds one.

use std::collections::BTreeMap;

/// A radix tree of token sequences with LRU eviction under a byte budget.
pub(crate) struct PrefixCache<V> {
    root: Node<V>,
    budget: usize,
    bytes: usize,
    tick: u64,
    /// Keys by last use, oldest first.
    lru: BTreeMap<u64, Vec<u32>>,
}

struct Node<V> {
    /// The tokens on the edge into this node (empty only at the root).
    label: Vec<u32>,
    /// Children, each starting with a different token.
    children: Vec<Node<V>>,
    entry: Option<Entry<V>>,
}

struct Entry<V> {
    value: V,
    key: Vec<u32>,
    bytes: usize,
    tick: u64,
}

fn common(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl<V> Node<V> {
    fn empty() -> Node<V> {
        Node {
            label: Vec::new(),
            children: Vec::new(),
            entry: None,
        }
    }

    fn child(&self, token: u32) -> Option<usize> {
        self.children.iter().position(|c| c.label[0] == token)
    }

    /// Insert `entry` at `key` (relative to this node). The caller has made sure no kept key
    /// extends it.
    fn insert(&mut self, key: &[u32], entry: Entry<V>) {
        if key.is_empty() {
            self.entry = Some(entry);
            return;
        }
        let Some(i) = self.child(key[0]) else {
            self.children.push(Node {
                label: key.to_vec(),
                children: Vec::new(),
                entry: Some(entry),
            });
            return;
        };
        let child = &mut self.children[i];
        let l = common(&child.label, key);
        if l < child.label.len() {
            // Split the edge where the key leaves it.
            let rest = child.label.split_off(l);
            let lower = Node {
                label: rest,
                children: std::mem::take(&mut child.children),
                entry: child.entry.take(),
            };
            child.children.push(lower);
        }
        child.insert(&key[l..], entry);
    }

    /// Remove the entry at exactly `key`, pruning empty leaves and merging single-child
    /// nodes on the way back.
    fn remove(&mut self, key: &[u32]) -> Option<Entry<V>> {
        if key.is_empty() {
            return self.entry.take();
        }
        let i = self.child(key[0])?;
        let child = &mut self.children[i];
        if !key.starts_with(&child.label) {
            return None;
        }
        let len = child.label.len();
        let removed = child.remove(&key[len..])?;
        if child.entry.is_none() {
            match child.children.len() {
                0 => {
                    self.children.swap_remove(i);
                }
                1 => {
                    let only = child.children.pop().expect("one child");
                    child.label.extend_from_slice(&only.label);
                    child.children = only.children;
                    child.entry = only.entry;
                }
                _ => {}
            }
        }
        Some(removed)
    }

    /// Any entry at or below this node (the tree keeps entries at its leaves).
    fn any_entry(&self) -> Option<&Entry<V>> {
        let mut node = self;
        loop {
            if let Some(e) = &node.entry {
                return Some(e);
            }
            node = node.children.first()?;
        }
    }
}

impl<V: Clone> PrefixCache<V> {
    /// An empty cache that holds at most `budget` bytes of values.
    pub(crate) fn new(budget: usize) -> PrefixCache<V> {
        PrefixCache {
            root: Node::empty(),
            budget,
            bytes: 0,
            tick: 0,
            lru: BTreeMap::new(),
        }
    }

    /// The bytes the kept values take (at most the budget).
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// How many entries are kept.
    pub(crate) fn len(&self) -> usize {
        self.lru.len()
    }

    /// The longest prefix of `query` that some kept key starts with: its length (at least 1)
    /// and that key's value, which counts as used. `None` when no key starts with
    /// `query[0]`.
    pub(crate) fn lookup(&mut self, query: &[u32]) -> Option<(usize, V)> {
        let (matched, key) = self.longest(query)?;
        let value = self.touch(&key)?;
        Some((matched, value))
    }

    fn longest(&self, query: &[u32]) -> Option<(usize, Vec<u32>)> {
        let mut node = &self.root;
        let mut matched = 0;
        while matched < query.len() {
            let Some(i) = node.child(query[matched]) else {
                break;
            };
            let child = &node.children[i];
            let l = common(&child.label, &query[matched..]);
            matched += l;
            node = child;
            if l < child.label.len() {
                break;
            }
        }
        if matched == 0 {
            return None;
        }
        Some((matched, node.any_entry()?.key.clone()))
    }

    /// Mark the entry at `key` as just used; returns its value.
    fn touch(&mut self, key: &[u32]) -> Option<V> {
        self.tick += 1;
        let tick = self.tick;
        let mut node = &mut self.root;
        let mut at = 0;
        while at < key.len() {
            let i = node.child(key[at])?;
            node = &mut node.children[i];
            at += node.label.len();
        }
        let entry = node.entry.as_mut()?;
        self.lru.remove(&entry.tick);
        entry.tick = tick;
        self.lru.insert(tick, key.to_vec());
        Some(entry.value.clone())
    }

    /// Keep `value` (taking `bytes`) for `key`. When a kept key already starts with `key`,
    /// that entry is refreshed instead; kept keys that `key` extends are dropped. When
    /// `bytes` exceeds the budget, nothing is kept; otherwise the least recently used
    /// entries go until the total fits. Returns whether `value` was kept.
    pub(crate) fn insert(&mut self, key: Vec<u32>, value: V, bytes: usize) -> bool {
        if key.is_empty() {
            return false;
        }
        if let Some((matched, covering)) = self.longest(&key)
            && matched == key.len()
        {
            self.touch(&covering);
            return false;
        }
        if bytes > self.budget {
            return false;
        }
        for end in 1..key.len() {
            self.remove(&key[..end]);
        }
        self.tick += 1;
        let tick = self.tick;
        self.lru.insert(tick, key.clone());
        self.bytes += bytes;
        let entry = Entry {
            value,
            key: key.clone(),
            bytes,
            tick,
        };
        self.root.insert(&key, entry);
        while self.bytes > self.budget {
            let (_, oldest) = self.lru.pop_first().expect("bytes are held by entries");
            self.remove(&oldest);
        }
        true
    }

    fn remove(&mut self, key: &[u32]) -> Option<V> {
        let entry = self.root.remove(key)?;
        self.lru.remove(&entry.tick);
        self.bytes -= entry.bytes;
        Some(entry.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree's invariants: entries exactly at the leaves, no entry-less node with a single
    /// child below the root, children with distinct first tokens, keys matching the paths,
    /// and the byte and LRU books matching the entries.
    fn check(cache: &PrefixCache<char>) {
        fn walk(node: &Node<char>, path: &mut Vec<u32>, root: bool, out: &mut Vec<(u64, usize)>) {
            path.extend_from_slice(&node.label);
            assert_eq!(node.entry.is_some(), node.children.is_empty() && !root);
            if !root && node.entry.is_none() {
                assert!(node.children.len() >= 2, "unmerged node at {path:?}");
            }
            if let Some(e) = &node.entry {
                assert_eq!(&e.key, path);
                out.push((e.tick, e.bytes));
            }
            let mut firsts: Vec<u32> = node.children.iter().map(|c| c.label[0]).collect();
            firsts.sort_unstable();
            firsts.dedup();
            assert_eq!(firsts.len(), node.children.len());
            for c in &node.children {
                assert!(!c.label.is_empty());
                walk(c, path, false, out);
            }
            path.truncate(path.len() - node.label.len());
        }
        let mut entries = Vec::new();
        walk(&cache.root, &mut Vec::new(), true, &mut entries);
        assert_eq!(entries.len(), cache.lru.len());
        assert_eq!(entries.iter().map(|e| e.1).sum::<usize>(), cache.bytes);
        assert!(cache.bytes <= cache.budget);
        for (tick, _) in entries {
            assert!(cache.lru.contains_key(&tick));
        }
    }

    #[test]
    fn longest_prefix_match() {
        let mut c = PrefixCache::new(1000);
        assert!(c.insert(vec![1, 2, 3, 4], 'a', 10));
        assert!(c.insert(vec![1, 2, 5], 'b', 10));
        assert!(c.insert(vec![7, 8], 'c', 10));
        check(&c);
        assert_eq!(c.lookup(&[1, 2, 3, 9]), Some((3, 'a')));
        assert_eq!(c.lookup(&[1, 2, 3, 4, 5, 6]), Some((4, 'a')));
        assert_eq!(c.lookup(&[1, 2, 5, 6]), Some((3, 'b')));
        assert_eq!(c.lookup(&[7]), Some((1, 'c')));
        assert_eq!(c.lookup(&[7, 9]), Some((1, 'c')));
        // Two keys start with [1, 2]: either serves the two tokens.
        let (n, v) = c.lookup(&[1, 2, 6]).unwrap();
        assert_eq!(n, 2);
        assert!(v == 'a' || v == 'b');
        assert_eq!(c.lookup(&[2, 1]), None);
        assert_eq!(c.lookup(&[]), None);
        // Splitting an edge keeps the matches below the split.
        assert!(c.insert(vec![1, 9], 'd', 10));
        check(&c);
        assert_eq!(c.lookup(&[1, 2, 3, 4]), Some((4, 'a')));
        assert_eq!(c.lookup(&[1, 9, 9]), Some((2, 'd')));
        assert_eq!(c.lookup(&[1, 8]).map(|m| m.0), Some(1));
    }

    #[test]
    fn a_longer_key_replaces_the_prefixes_it_extends() {
        let mut c = PrefixCache::new(1000);
        assert!(c.insert(vec![1, 2], 'a', 10));
        assert!(c.insert(vec![1, 2, 3, 4], 'b', 30));
        check(&c);
        assert_eq!((c.len(), c.bytes()), (1, 30));
        assert_eq!(c.lookup(&[1, 2, 7]), Some((2, 'b')));
        // A prefix of a kept key is already served: nothing new is kept.
        assert!(!c.insert(vec![1, 2, 3], 'c', 20));
        assert!(!c.insert(vec![1, 2, 3, 4], 'c', 20));
        check(&c);
        assert_eq!((c.len(), c.bytes()), (1, 30));
        assert_eq!(c.lookup(&[1, 2, 3]), Some((3, 'b')));
    }

    #[test]
    fn eviction_is_least_recently_used_first_within_the_budget() {
        let mut c = PrefixCache::new(30);
        assert!(c.insert(vec![1, 1], 'a', 10));
        assert!(c.insert(vec![2, 2], 'b', 10));
        assert!(c.insert(vec![3, 3], 'c', 10));
        assert_eq!(c.bytes(), 30);
        // Using `a` makes `b` the oldest.
        assert_eq!(c.lookup(&[1, 1]), Some((2, 'a')));
        assert!(c.insert(vec![4, 4], 'd', 10));
        check(&c);
        assert_eq!(c.lookup(&[2, 2]), None);
        assert_eq!(c.lookup(&[3, 3]), Some((2, 'c')));
        // Now `a` is the oldest, then `d`: a 20-byte entry evicts both.
        assert!(c.insert(vec![5, 5], 'e', 20));
        check(&c);
        assert_eq!(c.lookup(&[1, 1]), None);
        assert_eq!(c.lookup(&[4, 4]), None);
        assert_eq!(c.lookup(&[3, 3]), Some((2, 'c')));
        assert_eq!(c.lookup(&[5, 5]), Some((2, 'e')));
        assert_eq!((c.len(), c.bytes()), (2, 30));
        // A value larger than the whole budget is not kept and evicts nothing.
        assert!(!c.insert(vec![6], 'f', 31));
        assert_eq!((c.len(), c.bytes()), (2, 30));
        assert_eq!(c.lookup(&[6]), None);
    }

    #[test]
    fn eviction_merges_the_tree_back() {
        let mut c = PrefixCache::new(20);
        assert!(c.insert(vec![1, 2, 3], 'a', 10));
        assert!(c.insert(vec![1, 2, 4], 'b', 10));
        assert!(c.insert(vec![1, 5], 'c', 10));
        check(&c);
        assert_eq!(c.len(), 2);
        assert_eq!(c.lookup(&[1, 2, 3]), Some((2, 'b')));
        assert!(c.insert(vec![9], 'd', 20));
        check(&c);
        assert_eq!(c.len(), 1);
        assert_eq!(c.lookup(&[1, 2]), None);
        let mut zero = PrefixCache::new(0);
        assert!(!zero.insert(vec![1], 'a', 1));
        assert!(zero.insert(vec![1], 'a', 0));
        check(&zero);
    }
}
