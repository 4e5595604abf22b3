//! Constrained answers: a token trie over a label set, used as a [`TokenFilter`] so that
//! decoding can only spell one of the labels, and stops as soon as the label is determined.

use super::filter::TokenFilter;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Default)]
struct Node {
    children: Vec<(u32, usize)>,
    /// Label ending here (reached through the end token).
    label: Option<usize>,
    /// Labels reachable from this node.
    reachable: Vec<usize>,
}

/// The labels' token sequences as a trie. Every label ends with the end-of-sequence token.
#[derive(Debug, Clone)]
pub struct LabelTrie {
    nodes: Vec<Node>,
    eos: u32,
    stop_early: bool,
}

impl LabelTrie {
    /// Builds the trie from each label's tokens (without end-of-sequence; `eos` is appended).
    ///
    /// With `stop_early`, once the generated prefix can only lead to one label the filter allows
    /// nothing but `eos`, so decoding ends there; [`Self::resolve`] still names the label.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty label set, a label without tokens, a label
    /// containing `eos`, or two labels with the same tokens.
    pub fn new(labels: &[Vec<u32>], eos: u32, stop_early: bool) -> Result<Self> {
        if labels.is_empty() {
            return Err(Error::InvalidArgument("the label set is empty".into()));
        }
        let mut nodes = vec![Node::default()];
        for (li, toks) in labels.iter().enumerate() {
            if toks.is_empty() {
                return Err(Error::InvalidArgument(format!("label {li} has no tokens")));
            }
            if toks.contains(&eos) {
                return Err(Error::InvalidArgument(format!(
                    "label {li} contains the end-of-sequence token"
                )));
            }
            let mut cur = 0;
            nodes[0].reachable.push(li);
            for &t in toks.iter().chain(std::iter::once(&eos)) {
                let next = match nodes[cur].children.iter().find(|c| c.0 == t) {
                    Some(&(_, n)) => n,
                    None => {
                        nodes.push(Node::default());
                        let n = nodes.len() - 1;
                        nodes[cur].children.push((t, n));
                        n
                    }
                };
                cur = next;
                nodes[cur].reachable.push(li);
            }
            if let Some(other) = nodes[cur].label {
                return Err(Error::InvalidArgument(format!(
                    "labels {other} and {li} have the same tokens"
                )));
            }
            nodes[cur].label = Some(li);
        }
        Ok(LabelTrie {
            nodes,
            eos,
            stop_early,
        })
    }

    /// The node reached by `generated`, or `None` if it left the trie.
    fn walk(&self, generated: &[u32]) -> Option<usize> {
        let mut cur = 0;
        for &t in generated {
            if t == self.eos && self.stop_early && self.nodes[cur].reachable.len() == 1 {
                // An early stop: the end token was forced before the label was spelled out.
                return Some(cur);
            }
            cur = self.nodes[cur].children.iter().find(|c| c.0 == t)?.1;
        }
        Some(cur)
    }

    /// The label a generated sequence denotes: fully spelled (ending with `eos`), or determined
    /// by its prefix when stopping early. `None` if it is not (yet) a single label.
    pub fn resolve(&self, generated: &[u32]) -> Option<usize> {
        let node = &self.nodes[self.walk(generated)?];
        match node.label {
            Some(l) => Some(l),
            None if node.reachable.len() == 1 => Some(node.reachable[0]),
            None => None,
        }
    }
}

impl TokenFilter for LabelTrie {
    fn filter(&self, _request: u64, generated: &[u32], scores: &mut [f32]) {
        let allowed: Vec<u32> = match self.walk(generated) {
            Some(n) if self.stop_early && n != 0 && self.nodes[n].reachable.len() == 1 => {
                vec![self.eos]
            }
            Some(n) if !self.nodes[n].children.is_empty() => {
                self.nodes[n].children.iter().map(|c| c.0).collect()
            }
            // Finished or off the trie (cannot happen under this filter): only the end.
            _ => vec![self.eos],
        };
        super::processors::restrict_to(scores, &allowed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const EOS: u32 = 1;

    #[test]
    fn spells_only_labels_and_resolves() {
        let labels = vec![vec![5, 6], vec![5, 7, 8], vec![9]];
        let trie = LabelTrie::new(&labels, EOS, false).unwrap();
        let mut s = vec![0f32; 12];
        trie.filter(0, &[], &mut s);
        let ok: Vec<usize> = (0..12).filter(|&i| s[i].is_finite()).collect();
        assert_eq!(ok, vec![5, 9]);
        let mut s = vec![0f32; 12];
        trie.filter(0, &[5], &mut s);
        assert_eq!(
            (0..12).filter(|&i| s[i].is_finite()).collect::<Vec<_>>(),
            vec![6, 7]
        );
        let mut s = vec![0f32; 12];
        trie.filter(0, &[5, 6], &mut s);
        assert_eq!(
            (0..12).filter(|&i| s[i].is_finite()).collect::<Vec<_>>(),
            vec![1]
        );
        assert_eq!(trie.resolve(&[5, 6, EOS]), Some(0));
        assert_eq!(trie.resolve(&[5, 7, 8, EOS]), Some(1));
        assert_eq!(trie.resolve(&[5]), None);
        assert_eq!(trie.resolve(&[4]), None);
    }

    #[test]
    fn early_stop_ends_once_determined() {
        let labels = vec![vec![5, 6, 7], vec![8, 6]];
        let trie = LabelTrie::new(&labels, EOS, true).unwrap();
        let mut s = vec![0f32; 10];
        trie.filter(0, &[5], &mut s);
        assert_eq!(
            (0..10).filter(|&i| s[i].is_finite()).collect::<Vec<_>>(),
            vec![1]
        );
        assert_eq!(trie.resolve(&[5, EOS]), Some(0));
        assert_eq!(trie.resolve(&[8, EOS]), Some(1));
    }

    #[test]
    fn bad_label_sets() {
        assert!(LabelTrie::new(&[], EOS, false).is_err());
        assert!(LabelTrie::new(&[vec![]], EOS, false).is_err());
        assert!(LabelTrie::new(&[vec![3, EOS]], EOS, false).is_err());
        assert!(LabelTrie::new(&[vec![3, 4], vec![3, 4]], EOS, false).is_err());
        // A label that is a prefix of another is fine.
        let t = LabelTrie::new(&[vec![3], vec![3, 4]], EOS, false).unwrap();
        assert_eq!(t.resolve(&[3, EOS]), Some(0));
        assert_eq!(t.resolve(&[3, 4, EOS]), Some(1));
    }
}
