"""The hand-written graph functions agree with transformers' T5 before any export."""

import torch
from transformers.models.t5.modeling_t5 import T5Attention

from instructcell_onnx.graphs import bucket_table, example_inputs, graph_modules
from instructcell_onnx.random_init import random_model


def test_bucket_lookup_equals_transformers():
    rel = torch.arange(-600, 600)
    for bidirectional in (True, False):
        for buckets, distance in ((32, 128), (16, 20)):
            ref = T5Attention._relative_position_bucket(
                rel, bidirectional=bidirectional, num_buckets=buckets, max_distance=distance
            )
            got = bucket_table(bidirectional, buckets, distance)[torch.clamp(rel, -distance, distance) + distance]
            assert torch.equal(ref, got)


def test_encoder_and_cached_decoder_match_transformers():
    _, model, _, _ = random_model("tiny", 3)
    graphs = graph_modules(model)
    embeds, mask = example_inputs(model, batch=2, enc_len=40)["text_encoder"]
    ids = torch.randint(3, 1000, (2, 30))
    ids[:, 0] = 0
    with torch.no_grad():
        hidden, *cross = graphs["text_encoder"](embeds, mask)
        layers = len(cross) // 2
        ref_hidden = model.t5.encoder(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
        ref_logits, ref_dec = model.teacher_forced(embeds, mask, ids)
        batch, heads, _, d_kv = cross[0].shape
        past = [torch.zeros(batch, heads, 0, d_kv)] * (2 * layers)
        logits, states = [], []
        for start in range(0, 30, 7):  # uneven blocks exercise past lengths 0, 7, 14, ...
            lo, hi, *past = graphs["decoder"](ids[:, start : start + 7], mask, *past, *cross)
            logits.append(lo)
            states.append(hi)
    assert torch.allclose(hidden, ref_hidden, atol=1e-5)
    assert torch.allclose(torch.cat(logits, 1), ref_logits, atol=1e-5)
    assert torch.allclose(torch.cat(states, 1), ref_dec, atol=1e-5)
    assert len(past) == 2 * layers and all(p.shape[2] == 30 for p in past)


def test_random_init_is_deterministic_and_outputs_vary():
    _, a, _, _ = random_model("tiny", 7)
    _, b, _, _ = random_model("tiny", 7)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k
    embeds, mask = example_inputs(a, batch=2)["text_encoder"]
    out = a.generate_ids(embeds, mask, 8)
    assert not torch.equal(out[0], out[1])
