//! Pairwise precision, recall and F1 of clusters against known entities.

/// Pairwise quality of a clustering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quality {
    pub true_pairs: u64,
    pub predicted_pairs: u64,
    pub correct_pairs: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

fn choose2(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Compares predicted clusters with true entities. With `linking`, only pairs of
/// records from different sources count (as in linking two files); otherwise
/// every pair does (deduplication).
pub fn pairwise_quality(clusters: &[u32], truth: &[u32], sources: &[u8], linking: bool) -> Quality {
    // Sorted runs instead of hash maps: this runs on a million records too.
    let pairs_within = |keys: &mut dyn Iterator<Item = (u64, u8)>| -> u64 {
        let mut keys: Vec<(u64, u8)> = keys.collect();
        keys.sort_unstable();
        let mut total = 0u64;
        let mut start = 0;
        while start < keys.len() {
            let mut end = start;
            let mut same_source = 0u64;
            while end < keys.len() && keys[end].0 == keys[start].0 {
                let mut run = end;
                while run < keys.len() && keys[run] == keys[end] {
                    run += 1;
                }
                same_source += choose2((run - end) as u64);
                end = run;
            }
            let group = choose2((end - start) as u64);
            total += if linking { group - same_source } else { group };
            start = end;
        }
        total
    };
    let n = clusters.len().min(truth.len()).min(sources.len());
    let true_pairs = pairs_within(&mut (0..n).map(|i| (u64::from(truth[i]), sources[i])));
    let predicted_pairs = pairs_within(&mut (0..n).map(|i| (u64::from(clusters[i]), sources[i])));
    let correct_pairs = pairs_within(&mut (0..n).map(|i| {
        (
            (u64::from(clusters[i]) << 32) | u64::from(truth[i]),
            sources[i],
        )
    }));
    let precision = if predicted_pairs == 0 {
        1.0
    } else {
        correct_pairs as f64 / predicted_pairs as f64
    };
    let recall = if true_pairs == 0 {
        1.0
    } else {
        correct_pairs as f64 / true_pairs as f64
    };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    Quality {
        true_pairs,
        predicted_pairs,
        correct_pairs,
        precision,
        recall,
        f1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_imperfect() {
        let truth = [0, 0, 1, 1, 2];
        let src = [0; 5];
        let q = pairwise_quality(&[0, 0, 2, 2, 4], &truth, &src, false);
        assert_eq!(
            (q.true_pairs, q.predicted_pairs, q.correct_pairs),
            (2, 2, 2)
        );
        assert_eq!(q.f1, 1.0);
        // Everything in one cluster: 10 predicted pairs, 2 right.
        let q = pairwise_quality(&[0; 5], &truth, &src, false);
        assert_eq!((q.predicted_pairs, q.correct_pairs), (10, 2));
        assert!((q.precision - 0.2).abs() < 1e-12);
        assert_eq!(q.recall, 1.0);
    }

    #[test]
    fn linking_counts_only_cross_source_pairs() {
        let truth = [0, 0, 0];
        let src = [0, 0, 1];
        let q = pairwise_quality(&[0, 0, 0], &truth, &src, true);
        assert_eq!(q.true_pairs, 2);
        assert_eq!(q.f1, 1.0);
    }
}
