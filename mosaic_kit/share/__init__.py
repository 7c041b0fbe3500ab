"""Sharing a trained run: prediction on your images, ONNX / TorchScript export, bundles and model
cards."""
