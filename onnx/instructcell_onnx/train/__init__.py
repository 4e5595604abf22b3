"""Training of the small ``pbmc-small`` InstructCell model on scanpy's ``pbmc68k_reduced`` PBMCs.

``python -m instructcell_onnx.train --out DIR --checkpoint DIR`` trains from scratch on CPU,
writes the checkpoint in the ``save_pretrained`` layout, exports and verifies the model package
and evaluates it on the held-out cells. See ``models/pbmc-small/README.md`` for the resulting
model card.
"""
