//! The offline provider's words, per language. Placeholders: `{topic}` (as typed), `{Topic}`
//! (first letter upper-cased), `{brand}`, `{audience}`, `{Audience}`.
//!
//! To add a language, add a `Pack` and list it in [`pack_for`].

use nanopost_domain::network::Network;

/// How the brand's `voice` reads, which picks lines and emoji.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Playful,
    Professional,
    Warm,
    Bold,
    Neutral,
}

impl Tone {
    /// Reads the brand's voice description ("warm, playful, expert"): the first recognised word
    /// wins, so the brand's own emphasis order counts.
    pub fn from_voice(voice: &str) -> Tone {
        let voice = voice.to_lowercase();
        let mut best: Option<(usize, Tone)> = None;
        for (tone, words) in TONE_WORDS {
            for w in *words {
                if let Some(pos) = voice.find(w)
                    && best.is_none_or(|(p, _)| pos < p)
                {
                    best = Some((pos, *tone));
                }
            }
        }
        best.map_or(Tone::Neutral, |(_, t)| t)
    }
}

const TONE_WORDS: &[(Tone, &[&str])] = &[
    (Tone::Playful, &["playful", "fun", "cheeky", "witty", "humor", "humour", "casual", "divertid", "lúdic", "alegre"]),
    (
        Tone::Professional,
        &["professional", "formal", "expert", "authoritative", "serious", "corporate", "profesional", "experto"],
    ),
    (Tone::Warm, &["warm", "friendly", "caring", "kind", "gentle", "calm", "cálid", "cercan", "amable"]),
    (Tone::Bold, &["bold", "energetic", "confident", "punchy", "daring", "audaz", "enérgic", "atrevid"]),
];

/// A plan angle: its label, a headline and a brief.
pub struct Angle {
    pub label: &'static str,
    pub headline: &'static str,
    pub brief: &'static str,
}

pub struct Pack {
    pub code: &'static str,
    pub hooks: &'static [&'static str],
    /// TikTok titles: short.
    pub short_hooks: &'static [&'static str],
    pub headlines: &'static [&'static str],
    /// Used when the brief is empty.
    pub filler_bodies: &'static [&'static str],
    pub audience_lines: &'static [&'static str],
    pub tone_lines: fn(Tone) -> &'static [&'static str],
    pub network_ctas: fn(Network) -> &'static [&'static str],
    pub questions: &'static [&'static str],
    pub fallback_topic: &'static str,
    pub angles: &'static [Angle],
    pub theme_line: &'static str,
    // Image analysis.
    pub alt_offline: &'static str,
    pub orientation: fn(Orientation) -> &'static str,
    pub mostly: &'static str,
    pub and: &'static str,
    pub bright: &'static str,
    pub dark: &'static str,
    pub pixels: &'static str,
    pub image_caption_hooks: &'static [&'static str],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orientation {
    Landscape,
    Portrait,
    Square,
}

/// The pack for a primary language subtag; `None` when there is none (the caller falls back to
/// English and says so).
pub fn pack_for(primary_language: &str) -> Option<&'static Pack> {
    match primary_language {
        "en" => Some(&EN),
        "es" => Some(&ES),
        _ => None,
    }
}

pub fn english() -> &'static Pack {
    &EN
}

pub fn emoji(tone: Tone) -> &'static [&'static str] {
    match tone {
        Tone::Playful => &["✨", "🎉", "😍", "🙌", "🤩"],
        Tone::Warm => &["💛", "🌿", "🤍", "☀️", "🌼"],
        Tone::Bold => &["🔥", "⚡", "🚀", "💥", "💪"],
        Tone::Neutral => &["👉", "✅", "📌"],
        Tone::Professional => &[],
    }
}

pub static EN: Pack = Pack {
    code: "en",
    hooks: &[
        "{Topic}, done right.",
        "Let's talk about {topic}.",
        "New from {brand}: {topic}.",
        "Have you tried {topic} yet?",
        "Here's why {topic} matters.",
        "A closer look at {topic}.",
        "This week at {brand}: {topic}.",
        "Everything you wanted to know about {topic}.",
        "{Topic}, the {brand} way.",
        "Spotlight on {topic}.",
    ],
    short_hooks: &[
        "{Topic} in 30 seconds",
        "POV: you discover {topic}",
        "Wait for it: {topic}",
        "{Topic}, explained",
        "The truth about {topic}",
        "{Topic}, the {brand} way",
    ],
    headlines: &["{Topic}", "{Topic}, done right", "Meet {topic}", "Why {topic} matters", "All about {topic}"],
    filler_bodies: &[
        "We have been working on {topic} and can't wait to show you.",
        "{Topic} is close to our hearts at {brand}, and it shows.",
        "Here is what {topic} looks like at {brand}.",
        "Small details make {topic} worth it. We took care of them.",
        "Curious about {topic}? Here is the short version.",
    ],
    audience_lines: &["Made for {audience}.", "For {audience}, from {brand}.", "{Audience}: this one is for you."],
    tone_lines: en_tone_lines,
    network_ctas: en_ctas,
    questions: &["What's your take?", "How do you approach this?", "What would you add?", "Have you tried it yet?"],
    fallback_topic: "what we do",
    angles: &[
        Angle {
            label: "tip",
            headline: "A quick tip on {topic}",
            brief: "Share one practical tip about {topic} for {audience}.",
        },
        Angle {
            label: "behind the scenes",
            headline: "Behind the scenes: {topic}",
            brief: "Show how {brand} works on {topic}, behind the scenes.",
        },
        Angle {
            label: "question",
            headline: "Your take on {topic}?",
            brief: "Ask {audience} what they think about {topic}.",
        },
        Angle { label: "story", headline: "A {topic} story", brief: "Tell a short customer story about {topic}." },
        Angle {
            label: "myth vs fact",
            headline: "{Topic}: myth vs fact",
            brief: "Clear up a common myth about {topic}.",
        },
        Angle {
            label: "how-to",
            headline: "{Topic} in three steps",
            brief: "Explain in three steps how to get the most out of {topic}.",
        },
        Angle {
            label: "announcement",
            headline: "New: {topic}",
            brief: "Announce what is new at {brand} around {topic}.",
        },
        Angle {
            label: "faq",
            headline: "{Topic}, answered",
            brief: "Answer the question people ask most about {topic}.",
        },
    ],
    theme_line: "Theme: {theme}.",
    alt_offline: "Offline description (no AI vision used)",
    orientation: |o| match o {
        Orientation::Landscape => "a landscape image",
        Orientation::Portrait => "a portrait image",
        Orientation::Square => "a square image",
    },
    mostly: "mostly",
    and: "and",
    bright: "bright overall",
    dark: "dark overall",
    pixels: "pixels",
    image_caption_hooks: &[
        "A new look at {topic}.",
        "Fresh from {brand}.",
        "Here's a glimpse of {topic}.",
        "{Topic}, in one picture.",
    ],
};

fn en_tone_lines(tone: Tone) -> &'static [&'static str] {
    match tone {
        Tone::Playful => &["Go on, you know you want to.", "Consider this your sign.", "Small joys, big smiles."],
        Tone::Professional => {
            &["Here is what you need to know.", "The details make the difference.", "Quality you can rely on."]
        }
        Tone::Warm => &[
            "We made this with you in mind.",
            "Thank you for being part of our story.",
            "Good things take time, and care.",
        ],
        Tone::Bold => &["No half measures.", "This is the one.", "Go big or go home."],
        Tone::Neutral => &["Take a look.", "Here is the short version.", "We think you'll like it."],
    }
}

fn en_ctas(network: Network) -> &'static [&'static str] {
    match network {
        Network::Instagram => &[
            "Tap the link in bio to learn more.",
            "Save this post for later.",
            "Tell us in the comments what you think.",
            "Share this with someone who'd love it.",
        ],
        Network::Linkedin => &[
            "Share your experience in the comments.",
            "Follow {brand} for more.",
            "Read more on our website.",
            "Let's connect and talk about it.",
        ],
        Network::Tiktok => {
            &["Follow for more.", "Comment your questions below.", "Save it for later.", "Share it with a friend."]
        }
    }
}

pub static ES: Pack = Pack {
    code: "es",
    hooks: &[
        "{Topic}, como debe ser.",
        "Hablemos de {topic}.",
        "Novedad en {brand}: {topic}.",
        "¿Ya probaste {topic}?",
        "Por qué {topic} importa.",
        "Una mirada de cerca a {topic}.",
        "Esta semana en {brand}: {topic}.",
        "{Topic}, al estilo {brand}.",
    ],
    short_hooks: &["{Topic} en 30 segundos", "La verdad sobre {topic}", "{Topic}, explicado", "Espera a ver: {topic}"],
    headlines: &["{Topic}", "{Topic}, como debe ser", "Descubre {topic}", "Todo sobre {topic}"],
    filler_bodies: &[
        "Hemos estado trabajando en {topic} y queremos enseñártelo.",
        "En {brand}, {topic} nos importa de verdad, y se nota.",
        "Así es {topic} en {brand}.",
        "¿Curiosidad por {topic}? Aquí va la versión corta.",
    ],
    audience_lines: &[
        "Pensado para {audience}.",
        "Para {audience}, de parte de {brand}.",
        "{Audience}: esto es para ti.",
    ],
    tone_lines: es_tone_lines,
    network_ctas: es_ctas,
    questions: &["¿Qué opinas?", "¿Cómo lo haces tú?", "¿Qué añadirías?", "¿Ya lo probaste?"],
    fallback_topic: "lo que hacemos",
    angles: &[
        Angle {
            label: "consejo",
            headline: "Un consejo sobre {topic}",
            brief: "Comparte un consejo práctico sobre {topic} para {audience}.",
        },
        Angle {
            label: "entre bastidores",
            headline: "Entre bastidores: {topic}",
            brief: "Muestra cómo trabaja {brand} en {topic}.",
        },
        Angle {
            label: "pregunta",
            headline: "¿Qué opinas de {topic}?",
            brief: "Pregunta a {audience} qué piensan de {topic}.",
        },
        Angle {
            label: "historia",
            headline: "Una historia de {topic}",
            brief: "Cuenta una breve historia de un cliente sobre {topic}.",
        },
        Angle {
            label: "mito o realidad",
            headline: "{Topic}: mito o realidad",
            brief: "Desmiente un mito común sobre {topic}.",
        },
        Angle {
            label: "novedad",
            headline: "Nuevo: {topic}",
            brief: "Anuncia lo nuevo de {brand} en torno a {topic}.",
        },
    ],
    theme_line: "Tema: {theme}.",
    alt_offline: "Descripción sin conexión (sin visión por IA)",
    orientation: |o| match o {
        Orientation::Landscape => "una imagen horizontal",
        Orientation::Portrait => "una imagen vertical",
        Orientation::Square => "una imagen cuadrada",
    },
    mostly: "sobre todo",
    and: "y",
    bright: "luminosa",
    dark: "oscura",
    pixels: "píxeles",
    image_caption_hooks: &["Una nueva mirada a {topic}.", "Recién salido de {brand}.", "{Topic}, en una imagen."],
};

fn es_tone_lines(tone: Tone) -> &'static [&'static str] {
    match tone {
        Tone::Playful => {
            &["Venga, sabes que quieres.", "Considera esto una señal.", "Pequeños placeres, grandes sonrisas."]
        }
        Tone::Professional => {
            &["Esto es lo que necesitas saber.", "Los detalles marcan la diferencia.", "Calidad en la que confiar."]
        }
        Tone::Warm => &[
            "Lo hicimos pensando en ti.",
            "Gracias por ser parte de nuestra historia.",
            "Lo bueno lleva tiempo y cariño.",
        ],
        Tone::Bold => &["Sin medias tintas.", "Este es el bueno.", "A lo grande."],
        Tone::Neutral => &["Échale un vistazo.", "Aquí va la versión corta.", "Creemos que te gustará."],
    }
}

fn es_ctas(network: Network) -> &'static [&'static str] {
    match network {
        Network::Instagram => &[
            "Más información en el enlace de la bio.",
            "Guarda esta publicación para después.",
            "Cuéntanos en los comentarios qué te parece.",
        ],
        Network::Linkedin => {
            &["Comparte tu experiencia en los comentarios.", "Sigue a {brand} para más.", "Más en nuestra web."]
        }
        Network::Tiktok => &["Síguenos para más.", "Deja tus preguntas en los comentarios.", "Guárdalo para después."],
    }
}

/// Fills the placeholders.
pub fn fill(template: &str, topic: &str, brand: &str, audience: &str) -> String {
    template
        .replace("{Topic}", &capitalise(topic))
        .replace("{topic}", topic)
        .replace("{brand}", brand)
        .replace("{Audience}", &capitalise(audience))
        .replace("{audience}", audience)
}

pub fn capitalise(s: &str) -> String {
    let mut cs = s.chars();
    cs.next().map(|f| f.to_uppercase().chain(cs).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_follows_the_first_word() {
        assert_eq!(Tone::from_voice("Warm, playful and expert"), Tone::Warm);
        assert_eq!(Tone::from_voice("expert but fun"), Tone::Professional);
        assert_eq!(Tone::from_voice(""), Tone::Neutral);
        assert_eq!(fill("{Topic} by {brand}", "rye bread", "Acme", ""), "Rye bread by Acme");
    }
}
