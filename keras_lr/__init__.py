"""keras_lr: learning-rate tools for Keras 3 on TensorFlow, JAX and PyTorch."""

from keras_lr import schedule_math, schedules

__version__ = "0.1.0"
