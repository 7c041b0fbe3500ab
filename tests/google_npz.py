"""Test helper: write a timm ViT's weights in Google's original ViT ``.npz`` layout (as
ViT-B_16.npz).

Only for tests: it lets the kit's loader (which goes through timm's own ``_load_weights``) be
checked on a Google-layout file without downloading the 330 MB original.
"""

import numpy as np


def save_google_npz(vit, path, n_classes=21):
    sd = {k: v.detach().numpy() for k, v in vit.state_dict().items()}
    d, heads = vit.embed_dim, vit.blocks[0].attn.num_heads
    hd = d // heads
    w = {
        "embedding/kernel": sd["patch_embed.proj.weight"].transpose(2, 3, 1, 0),
        "embedding/bias": sd["patch_embed.proj.bias"],
        "cls": sd["cls_token"],
        "Transformer/posembed_input/pos_embedding": sd["pos_embed"],
        "Transformer/encoder_norm/scale": sd["norm.weight"],
        "Transformer/encoder_norm/bias": sd["norm.bias"],
        "head/kernel": np.random.default_rng(0).normal(size=(d, n_classes)).astype(np.float32),
        "head/bias": np.zeros(n_classes, np.float32),
    }
    for i in range(len(vit.blocks)):
        p, b = f"Transformer/encoderblock_{i}/", f"blocks.{i}."
        w[p + "LayerNorm_0/scale"], w[p + "LayerNorm_0/bias"] = (
            sd[b + "norm1.weight"],
            sd[b + "norm1.bias"],
        )
        w[p + "LayerNorm_2/scale"], w[p + "LayerNorm_2/bias"] = (
            sd[b + "norm2.weight"],
            sd[b + "norm2.bias"],
        )
        qkv_w, qkv_b = sd[b + "attn.qkv.weight"], sd[b + "attn.qkv.bias"]
        for j, name in enumerate(("query", "key", "value")):
            w[p + f"MultiHeadDotProductAttention_1/{name}/kernel"] = qkv_w[
                j * d : (j + 1) * d
            ].T.reshape(d, heads, hd)
            w[p + f"MultiHeadDotProductAttention_1/{name}/bias"] = qkv_b[
                j * d : (j + 1) * d
            ].reshape(heads, hd)
        w[p + "MultiHeadDotProductAttention_1/out/kernel"] = (
            sd[b + "attn.proj.weight"].reshape(d, heads, hd).transpose(1, 2, 0)
        )
        w[p + "MultiHeadDotProductAttention_1/out/bias"] = sd[b + "attn.proj.bias"]
        for r in range(2):
            w[p + f"MlpBlock_3/Dense_{r}/kernel"] = sd[b + f"mlp.fc{r + 1}.weight"].T
            w[p + f"MlpBlock_3/Dense_{r}/bias"] = sd[b + f"mlp.fc{r + 1}.bias"]
    np.savez(path, **w)
