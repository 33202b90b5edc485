//! Paired rounds: every round times each contender once, in an order that
//! rotates from round to round, and a comparison is the median of the
//! per-round ratios. Load from elsewhere on the machine lasts longer than a
//! round, so it hits both sides of a ratio alike and cancels out of it, where
//! it would not cancel out of two medians taken separately.
//!
//! Rounds continue until every ratio against contender 0 has settled (its
//! spread is at most the target) or the round budget is spent; the spread
//! printed next to a ratio says how far to trust it.

/// Per-round figures of several contenders.
pub struct Rounds {
    names: Vec<&'static str>,
    /// `samples[round][contender]`
    samples: Vec<Vec<f64>>,
    min_rounds: usize,
    max_rounds: usize,
    target_spread: f64,
}

/// One comparison: the median of per-round ratios and their spread.
#[derive(Clone, Copy, Debug)]
pub struct Ratio {
    /// Median of `a / b` over the rounds.
    pub median: f64,
    /// Half the interquartile range of the per-round ratios, as a percentage
    /// of their median: the typical distance of one round from the median.
    pub spread: f64,
    /// Rounds the ratio is taken over.
    pub rounds: usize,
}

impl Ratio {
    /// `1.04× ±2.1%`
    pub fn label(&self) -> String {
        format!("{:.2}× ±{:.1}%", self.median, self.spread)
    }
}

impl Rounds {
    /// Contenders by name; contender 0 is the one every other is compared to.
    pub fn new(names: &[&'static str]) -> Rounds {
        Rounds {
            names: names.to_vec(),
            samples: Vec::new(),
            min_rounds: 9,
            max_rounds: 60,
            target_spread: 2.0,
        }
    }

    /// At least `min` rounds, at most `max`, stopping early once every
    /// spread is at most `target` percent.
    pub fn budget(mut self, min: usize, max: usize, target: f64) -> Rounds {
        self.min_rounds = min.max(3);
        self.max_rounds = max.max(self.min_rounds);
        self.target_spread = target;
        self
    }

    /// Whether another round is wanted.
    pub fn more(&self) -> bool {
        let n = self.samples.len();
        if n < self.min_rounds {
            return true;
        }
        if n >= self.max_rounds {
            return false;
        }
        (1..self.names.len()).any(|i| self.ratio(0, i).spread > self.target_spread)
    }

    /// The order in which the next round runs the contenders: rotated by one
    /// every round, so none always runs first (on a cold cache) or last.
    pub fn order(&self) -> Vec<usize> {
        let n = self.names.len();
        let shift = self.samples.len() % n;
        (0..n).map(|i| (i + shift) % n).collect()
    }

    /// Records one round, a figure per contender in the order of `new`.
    pub fn push(&mut self, round: Vec<f64>) {
        assert_eq!(round.len(), self.names.len(), "one figure per contender");
        self.samples.push(round);
    }

    /// Runs rounds until settled; `run(i)` times contender `i` once.
    pub fn run(mut self, mut run: impl FnMut(usize) -> f64) -> Rounds {
        while self.more() {
            let mut round = vec![0.0; self.names.len()];
            for i in self.order() {
                round[i] = run(i);
            }
            self.push(round);
        }
        self
    }

    /// Rounds recorded so far.
    pub fn rounds(&self) -> usize {
        self.samples.len()
    }

    /// Median figure of contender `i` over the rounds.
    pub fn median(&self, i: usize) -> f64 {
        let mut v: Vec<f64> = self.samples.iter().map(|r| r[i]).collect();
        quantile(&mut v, 0.5)
    }

    /// The ratio of contender `a` to contender `b`, round by round.
    pub fn ratio(&self, a: usize, b: usize) -> Ratio {
        let mut v: Vec<f64> = self
            .samples
            .iter()
            .filter(|r| r[b] > 0.0)
            .map(|r| r[a] / r[b])
            .collect();
        if v.is_empty() {
            return Ratio {
                median: f64::NAN,
                spread: f64::INFINITY,
                rounds: 0,
            };
        }
        let median = quantile(&mut v, 0.5);
        let iqr = quantile(&mut v, 0.75) - quantile(&mut v, 0.25);
        Ratio {
            median,
            spread: if median > 0.0 {
                50.0 * iqr / median
            } else {
                f64::INFINITY
            },
            rounds: v.len(),
        }
    }

    /// The contender's name.
    pub fn name(&self, i: usize) -> &'static str {
        self.names[i]
    }
}

/// Linear-interpolated quantile `q` (0..=1) of `v`.
fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_taken_round_by_round() {
        let mut r = Rounds::new(&["a", "b"]);
        // The machine slows down by 10× in round 2; the ratio does not move.
        r.push(vec![2.0, 1.0]);
        r.push(vec![20.0, 10.0]);
        r.push(vec![4.0, 2.0]);
        let x = r.ratio(0, 1);
        assert_eq!(x.median, 2.0);
        assert_eq!(x.spread, 0.0);
    }

    #[test]
    fn order_rotates() {
        let mut r = Rounds::new(&["a", "b", "c"]);
        assert_eq!(r.order(), [0, 1, 2]);
        r.push(vec![1.0; 3]);
        assert_eq!(r.order(), [1, 2, 0]);
    }

    #[test]
    fn stops_when_settled_or_out_of_budget() {
        let r = Rounds::new(&["a", "b"]).budget(3, 5, 1.0);
        let mut k = 0.0;
        let noisy = r.run(|_| {
            k += 1.0;
            k
        });
        assert_eq!(noisy.rounds(), 5);
        let steady = Rounds::new(&["a", "b"]).budget(3, 50, 1.0).run(|_| 1.0);
        assert_eq!(steady.rounds(), 3);
    }
}
