"""Sharing a trained run: prediction, ONNX / TorchScript export, bundles and model cards."""
