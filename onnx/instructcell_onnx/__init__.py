"""Export InstructCell checkpoints to ONNX model packages and verify them.

The package is split by job: ``config`` reads ``config.json`` (and the presets),
``modeling`` is the PyTorch model, ``checkpoint`` loads weights, ``tokenizer``
builds ``tokenizer.json``, ``graphs`` holds the exportable tensor functions,
``onnx_export`` writes and quantizes the graphs, ``manifest`` describes the
package, ``exporter`` writes a package atomically and ``verify`` proves it.
"""

__version__ = "0.1.0"

#: Version of the model-package layout described in ``onnx/README.md``.
PACKAGE_FORMAT_VERSION = 3
