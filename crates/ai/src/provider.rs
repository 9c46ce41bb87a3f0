//! The one interface every provider implements. The futures are boxed so providers can live
//! behind `Arc<dyn …>` (the offline one, an OpenAI-compatible one, a test's).

use crate::error::AiError;
use crate::output::{Captions, Generated, GeneratedImage, ImageAnalysis, PostPlan, ProviderLabel};
use crate::request::{CaptionRequest, ImageAnalysisRequest, ImageRequest, PlanRequest};
use std::future::Future;
use std::pin::Pin;

pub type AiFuture<'a, T> = Pin<Box<dyn Future<Output = Result<Generated<T>, AiError>> + Send + 'a>>;

/// Structured text: each output has a JSON schema the answer must follow.
pub trait TextGen: Send + Sync {
    fn label(&self) -> ProviderLabel;
    /// One caption per requested network.
    fn captions<'a>(&'a self, request: &'a CaptionRequest) -> AiFuture<'a, Captions>;
    /// Ideas for `count` posts.
    fn plan<'a>(&'a self, request: &'a PlanRequest) -> AiFuture<'a, PostPlan>;
}

/// Alt text and a suggested caption from an image.
pub trait ImageUnderstanding: Send + Sync {
    fn label(&self) -> ProviderLabel;
    fn analyse_image<'a>(&'a self, request: &'a ImageAnalysisRequest) -> AiFuture<'a, ImageAnalysis>;
}

/// An image for a network's post, as a JPEG of the network's size.
pub trait ImageGen: Send + Sync {
    fn label(&self) -> ProviderLabel;
    fn generate_image<'a>(&'a self, request: &'a ImageRequest) -> AiFuture<'a, GeneratedImage>;
}
