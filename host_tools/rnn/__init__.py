"""The RNN compiler (issue 15): a small frame-rate GRU distilled from a GAN's synthesiser controls,
exported as ONNX inside an `rnn` bundle for the device's RNN engine (host tools)."""
