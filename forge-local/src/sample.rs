//! Choosing the next token from logits: greedy, or seeded temperature and top-p sampling.

use forge_core::exec::Sampling;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

/// The sampler of one request: its options and its own random generator, seeded from the
/// request's seed, so a request's tokens do not depend on the other streams in the batch.
pub(crate) struct Sampler {
    temperature: f32,
    top_p: f32,
    rng: Pcg64,
}

impl Sampler {
    /// A sampler, or why the options are invalid ([`Sampling::validate`]).
    pub(crate) fn new(s: &Sampling) -> Result<Sampler, String> {
        s.validate()?;
        Ok(Sampler {
            temperature: s.temperature,
            top_p: s.top_p,
            rng: Pcg64::seed_from_u64(s.seed),
        })
    }

    /// The next token. Greedy (temperature 0) takes the highest logit, the lowest id on a tie.
    /// Otherwise: softmax of `logits / temperature`, keep the most likely tokens until their
    /// mass reaches `top_p` (ties in order of id), draw one.
    pub(crate) fn sample(&mut self, logits: &[f32]) -> u32 {
        if self.temperature == 0.0 {
            return argmax(logits);
        }
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut probs: Vec<(u32, f32)> = logits
            .iter()
            .enumerate()
            .map(|(i, &l)| (i as u32, ((l - max) / self.temperature).exp()))
            .collect();
        let total: f32 = probs.iter().map(|p| p.1).sum();
        if !(total > 0.0 && total.is_finite()) {
            return argmax(logits);
        }
        let mut kept = probs.len();
        if self.top_p < 1.0 {
            probs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut mass = 0.0;
            for (i, p) in probs.iter().enumerate() {
                mass += p.1 / total;
                if mass >= self.top_p {
                    kept = i + 1;
                    break;
                }
            }
        }
        let kept = &probs[..kept];
        let kept_total: f32 = kept.iter().map(|p| p.1).sum();
        let mut draw = self.rng.random::<f32>() * kept_total;
        for p in kept {
            if draw < p.1 {
                return p.0;
            }
            draw -= p.1;
        }
        kept[kept.len() - 1].0
    }
}

fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampling(temperature: f32, top_p: f32, seed: u64) -> Sampling {
        Sampling {
            temperature,
            top_p,
            seed,
        }
    }

    #[test]
    fn greedy_takes_the_first_highest() {
        let mut s = Sampler::new(&sampling(0.0, 1.0, 0)).unwrap();
        assert_eq!(s.sample(&[0.5, 2.0, 2.0, -1.0]), 1);
    }

    #[test]
    fn same_seed_same_draws_and_top_p_cuts_the_tail() {
        let logits = [3.0, 2.9, 0.0, -5.0, 1.0];
        let draws = |seed| {
            let mut s = Sampler::new(&sampling(1.0, 1.0, seed)).unwrap();
            (0..64).map(|_| s.sample(&logits)).collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
        // Tokens 0 and 1 hold about 90% of the mass: top_p 0.8 keeps only them.
        let mut s = Sampler::new(&sampling(1.0, 0.8, 3)).unwrap();
        let seen: Vec<u32> = (0..200).map(|_| s.sample(&logits)).collect();
        assert!(seen.iter().all(|&t| t < 2), "{seen:?}");
        assert!(seen.contains(&0) && seen.contains(&1));
    }
}
