//! Corpora from package registries, tokenizers, unique-token budgets and epoch loaders.
