//! Offline post plans: the brand's topics crossed with angles, in a seeded order that does not
//! repeat a pairing until it has to.

use super::templates::{self, Pack};
use crate::output::{PlannedPost, PostPlan};
use crate::request::PlanRequest;
use crate::rng::SeededRng;
use crate::text::{cut_at_word, first_avoided};

pub fn plan(request: &PlanRequest, pack: &'static Pack) -> PostPlan {
    let brand = &request.brand;
    let mut rng = SeededRng::derive(request.seed, "plan");
    let mut topics: Vec<String> = brand.topics.iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect();
    if topics.is_empty() {
        topics.push(pack.fallback_topic.to_owned());
    }
    rng.shuffle(&mut topics);
    let mut angles: Vec<usize> = (0..pack.angles.len()).collect();
    rng.shuffle(&mut angles);
    let audience = if brand.audience.trim().is_empty() { "our community" } else { brand.audience.trim() };

    let mut posts = Vec::with_capacity(request.count);
    for i in 0..request.count {
        let topic = &topics[i % topics.len()];
        // Advance the angle once per full pass over the topics too, so topic i meets a new angle
        // each time round.
        let angle = &pack.angles[angles[(i / topics.len() + i % topics.len()) % angles.len()]];
        let fill = |t: &str| templates::fill(t, topic, brand.name.trim(), audience);
        let mut brief = fill(angle.brief);
        if !request.theme.trim().is_empty() {
            brief.push(' ');
            brief.push_str(&pack.theme_line.replace("{theme}", request.theme.trim()));
        }
        if let Some(word) = first_avoided(&brief, &brand.avoid_words) {
            brief.push_str(&format!(" (Avoid the word \"{word}\".)"));
        }
        posts.push(PlannedPost {
            topic: topic.clone(),
            angle: angle.label.to_owned(),
            headline: cut_at_word(&fill(angle.headline), 60),
            brief,
        });
    }
    PostPlan { posts }
}
