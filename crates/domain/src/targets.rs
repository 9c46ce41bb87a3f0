//! Which connected account each target of a post goes to: the account the target names, or
//! the brand's only account on that network. Several candidates and no name is never guessed.
//!
//! One rule for every place that needs it: approval refuses a post whose targets cannot be
//! resolved ([`Unresolved::blocks_approval`]), the editor and the review queue show why before
//! anyone presses Approve, and publishing records the same sentence when a target fails.

use crate::network::Network;
use crate::post::{PostContent, Target};
use std::fmt;

/// What the rule needs to know of a connected account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountFacts<'a> {
    pub network: Network,
    /// The network's id of the account (what a target names).
    pub external_id: &'a str,
    pub display_name: &'a str,
    /// Its tokens stopped working: a person must connect it again.
    pub reconnect_needed: bool,
}

/// Why a target has no account to go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// The target names an account the brand does not have (any more).
    NotConnected { network: Network, account: String },
    /// The brand has no account on the network.
    NoneConnected { network: Network },
    /// The brand has several accounts on the network and the target names none.
    Ambiguous { network: Network, names: Vec<String> },
    /// The account exists but must be connected again.
    ReconnectNeeded { network: Network, name: String },
}

impl Unresolved {
    pub fn network(&self) -> Network {
        match self {
            Unresolved::NotConnected { network, .. }
            | Unresolved::NoneConnected { network }
            | Unresolved::Ambiguous { network, .. }
            | Unresolved::ReconnectNeeded { network, .. } => *network,
        }
    }

    /// Whether a reviewer may approve the post as it is. A choice only the post can make (which
    /// of several accounts, or an account that is gone) must be made first: the approval covers
    /// the target. A network without an account yet, or an account to reconnect, is the brand's
    /// business and can be fixed before the post's time without touching the approved content.
    pub fn blocks_approval(&self) -> bool {
        matches!(self, Unresolved::Ambiguous { .. } | Unresolved::NotConnected { .. })
    }

    /// What a person should do about it, as one sentence (the editor, the queue, approval).
    pub fn what_to_do(&self) -> String {
        let net = self.network().label();
        match self {
            Unresolved::Ambiguous { names, .. } => format!(
                "Choose which {net} account this post goes to (the brand has {}: {}), save, then approve it.",
                names.len(),
                names.join(", ")
            ),
            Unresolved::NotConnected { account, .. } => format!(
                "The {net} account this post names ({account}) is not connected to this brand; choose another {net} account, save, then approve it."
            ),
            Unresolved::NoneConnected { .. } => format!(
                "No {net} account is connected to this brand yet; connect one before the post's time, or publishing to {net} will fail."
            ),
            Unresolved::ReconnectNeeded { name, .. } => {
                format!("The {net} account {name} must be connected again before anything is published to it.")
            }
        }
    }
}

/// The sentence a failed publication records.
impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let net = self.network().label();
        match self {
            Unresolved::NotConnected { account, .. } => {
                write!(f, "the {net} account {account} is not connected to this brand")
            }
            Unresolved::NoneConnected { .. } => write!(f, "no {net} account is connected to this brand"),
            Unresolved::Ambiguous { names, .. } => write!(
                f,
                "this brand has several {net} accounts ({}) and the post does not say which one",
                names.join(", ")
            ),
            Unresolved::ReconnectNeeded { name, .. } => {
                write!(f, "the {net} account {name} must be connected again before anything is published to it")
            }
        }
    }
}

/// The account `target` goes to among the brand's `accounts` (`facts` reads each one).
pub fn resolve_target<'a, A>(
    target: &Target,
    accounts: &'a [A],
    facts: impl Fn(&A) -> AccountFacts<'_>,
) -> Result<&'a A, Unresolved> {
    let network = target.network;
    let on_network: Vec<&A> = accounts.iter().filter(|a| facts(a).network == network).collect();
    let chosen = match &target.account {
        Some(id) => *on_network
            .iter()
            .find(|a| facts(a).external_id == id)
            .ok_or_else(|| Unresolved::NotConnected { network, account: id.clone() })?,
        None => match on_network.as_slice() {
            [] => return Err(Unresolved::NoneConnected { network }),
            [one] => *one,
            many => {
                let names = many.iter().map(|a| facts(a).display_name.to_owned()).collect();
                return Err(Unresolved::Ambiguous { network, names });
            }
        },
    };
    let f = facts(chosen);
    if f.reconnect_needed {
        return Err(Unresolved::ReconnectNeeded { network, name: f.display_name.to_owned() });
    }
    Ok(chosen)
}

/// Every target of `content` that cannot go to an account, in the content's order.
pub fn unresolved_targets<A>(
    content: &PostContent,
    accounts: &[A],
    facts: impl Fn(&A) -> AccountFacts<'_>,
) -> Vec<Unresolved> {
    content.targets.iter().filter_map(|t| resolve_target(t, accounts, &facts).err()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Acc(Network, &'static str, &'static str, bool);

    fn facts(a: &Acc) -> AccountFacts<'_> {
        AccountFacts { network: a.0, external_id: a.1, display_name: a.2, reconnect_needed: a.3 }
    }

    fn target(network: Network, account: Option<&str>) -> Target {
        Target { network, account: account.map(str::to_owned) }
    }

    #[test]
    fn the_named_account_or_the_only_one_and_never_a_guess() {
        let accounts = [
            Acc(Network::Linkedin, "urn:li:person:1", "Ada", false),
            Acc(Network::Linkedin, "urn:li:organization:2", "Acme", false),
            Acc(Network::Instagram, "17841", "acme.ig", false),
            Acc(Network::Tiktok, "tt", "acme.tt", true),
        ];
        let got = |t: &Target| resolve_target(t, &accounts, facts).map(|a| a.1);
        assert_eq!(got(&target(Network::Instagram, None)), Ok("17841"));
        assert_eq!(got(&target(Network::Linkedin, Some("urn:li:organization:2"))), Ok("urn:li:organization:2"));
        let ambiguous = got(&target(Network::Linkedin, None)).unwrap_err();
        assert_eq!(
            ambiguous,
            Unresolved::Ambiguous { network: Network::Linkedin, names: vec!["Ada".into(), "Acme".into()] }
        );
        assert!(ambiguous.blocks_approval());
        assert!(ambiguous.what_to_do().starts_with("Choose which LinkedIn account"), "{}", ambiguous.what_to_do());
        assert!(ambiguous.to_string().contains("does not say which one"));
        // An id of another network's account is not an account of this one.
        let wrong = got(&target(Network::Linkedin, Some("17841"))).unwrap_err();
        assert!(matches!(wrong, Unresolved::NotConnected { .. }) && wrong.blocks_approval());
        let stale = got(&target(Network::Tiktok, None)).unwrap_err();
        assert!(matches!(stale, Unresolved::ReconnectNeeded { .. }) && !stale.blocks_approval());
        let none = resolve_target(&target(Network::Instagram, None), &accounts[..2], facts).map(|a| a.1).unwrap_err();
        assert_eq!(none.to_string(), "no Instagram account is connected to this brand");
        assert!(!none.blocks_approval());
    }

    #[test]
    fn every_unresolved_target_is_listed_in_order() {
        let accounts = [
            Acc(Network::Linkedin, "a", "A", false),
            Acc(Network::Linkedin, "b", "B", false),
            Acc(Network::Instagram, "i", "I", false),
        ];
        let content = PostContent {
            variants: vec![],
            targets: vec![
                target(Network::Instagram, None),
                target(Network::Linkedin, None),
                target(Network::Tiktok, None),
            ],
        };
        let problems = unresolved_targets(&content, &accounts, facts);
        let networks: Vec<Network> = problems.iter().map(Unresolved::network).collect();
        assert_eq!(networks, vec![Network::Linkedin, Network::Tiktok]);
    }
}
