"""ORG/pakner's training splits -> the paper's cluster-based augmentation -> ORG/pakner-aug.

In: per-language training splits. Flow: entity bank (bank) -> static word vectors (embeddings)
-> K-Means per language and type, aligned across languages (clusters) -> 5 candidates per
sentence, entities swapped within aligned clusters and spelt in the target's letters
(orthography, candidates) -> ranked by a NER model (rank). Out: the augmented dataset repo
folder (build_aug).
"""
