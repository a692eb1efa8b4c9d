//! The data-constrained scaling law (Muennighoff et al. 2023), its fits and critical compute.
