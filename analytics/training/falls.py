"""Train the shipped fall model: ``python -m anxin.analytics.training.falls``.

Needs TensorFlow (``pip install 'anxin[training]'``, in its own environment); the gateway
never does. Data: SisFall (Sucerquia et al., Sensors 2017;17(1):198), development
subjects only (the held-out ones are fixed in ``training.sisfall`` and only evaluated).

Windows are the runtime's own (``anxin.analytics.falls``): every candidate impact (a
band-limited magnitude peak, highest within ±1 s) is cut PRE_S before to POST_S after
and turned into orientation-free channels. Positives are the main impact of each fall
trial (the trial's highest peak; SisFall has no onset annotation), shifted by a few
samples; negatives are every candidate in the daily-activity trials, found with a lower
threshold than the runtime's so that gentle posture changes (lying down, turning over,
sitting down hard) are well represented. Each trial is used as recorded (200 Hz) and as
a 25 Hz sensor would have seen it, so the model does not depend on the input rate.
Two development subjects are kept aside for early stopping. Seeded and deterministic.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from .. import falls as runtime
from .sisfall import HELD_OUT_SUBJECTS, SISFALL_RATE_HZ, Trial, development, load_trials

SEED = 20170101
EARLY_STOPPING_SUBJECTS = ("SA14", "SE14")
NEGATIVE_THRESHOLD_G = 1.2
MAIN_IMPACT_TOLERANCE = 10  # samples at 50 Hz between a candidate and the trial's top peak
POSITIVE_SHIFTS = (-2, -1, 0, 1, 2)
AS_RECORDED_AND_LOW_RATE = (SISFALL_RATE_HZ, 25)
MAX_EPOCHS = 40
METADATA_PATH = runtime.MODEL_PATH.with_suffix(".json")


@dataclass(frozen=True)
class Windows:
    inputs: np.ndarray  # (k, WINDOW, 3) float32
    labels: np.ndarray  # (k,) 0/1
    subjects: np.ndarray  # (k,) str


def trial_windows(trial: Trial, rate_hz: int) -> tuple[list[np.ndarray], list[int]]:
    acc = trial.acc_g
    if rate_hz != SISFALL_RATE_HZ:
        acc = resample_poly(acc, rate_hz, SISFALL_RATE_HZ, axis=0)
    x, valid = runtime.to_model_rate(acc, rate_hz)
    top = int(np.argmax(np.linalg.norm(x, axis=1)))
    inputs, labels = [], []
    for i in runtime.candidate_impacts(x, valid, 0, len(x), NEGATIVE_THRESHOLD_G):
        if not trial.is_fall:
            inputs.append(runtime.model_input(x[i - runtime.PRE : i + runtime.POST]))
            labels.append(0)
        elif abs(i - top) <= MAIN_IMPACT_TOLERANCE:
            for shift in POSITIVE_SHIFTS:
                j = min(max(i + shift, runtime.PRE), len(x) - runtime.POST)
                inputs.append(runtime.model_input(x[j - runtime.PRE : j + runtime.POST]))
                labels.append(1)
        # other peaks of a fall trial (stumbles before, rebounds after) are left out
    return inputs, labels


def build_windows(trials: list[Trial]) -> Windows:
    inputs: list[np.ndarray] = []
    labels: list[int] = []
    subjects: list[str] = []
    for trial in trials:
        for rate in AS_RECORDED_AND_LOW_RATE:
            found, kinds = trial_windows(trial, rate)
            inputs += found
            labels += kinds
            subjects += [trial.subject] * len(found)
    return Windows(np.stack(inputs), np.array(labels, dtype=np.float32), np.array(subjects))


def build_model():  # -> keras.Model
    from tensorflow import keras

    layers = keras.layers
    inputs = keras.Input((runtime.WINDOW, 3))
    x = layers.Conv1D(16, 7, strides=2, padding="same", activation="relu")(inputs)
    x = layers.Conv1D(24, 5, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv1D(32, 5, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv1D(32, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(16, activation="relu")(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    return model


def train(windows: Windows):
    import tensorflow as tf
    from tensorflow import keras

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    stopping = np.isin(windows.subjects, EARLY_STOPPING_SUBJECTS)
    fit_x, fit_y = windows.inputs[~stopping], windows.labels[~stopping]
    positives = float(fit_y.mean())
    weights = {0: 0.5 / (1 - positives), 1: 0.5 / positives}
    model = build_model()
    model.fit(
        fit_x,
        fit_y,
        validation_data=(windows.inputs[stopping], windows.labels[stopping]),
        epochs=MAX_EPOCHS,
        batch_size=64,
        class_weight=weights,
        callbacks=[keras.callbacks.EarlyStopping(patience=6, restore_best_weights=True, verbose=1)],
        shuffle=True,
        verbose=2,
    )
    return model


def export_tflite(model, path: Path) -> int:
    import tensorflow as tf

    # from_keras_model, not from_concrete_functions: with Keras 3 the latter loses the
    # weights (the model returns NaN).
    data = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data)


def main() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    from ..evaluation.falls import evaluate

    trials = load_trials()
    dev = development(trials)
    windows = build_windows(dev)
    print(
        f"training windows: {len(windows.labels)} ({int(windows.labels.sum())} fall) "
        f"from {len(dev)} development trials; held out: {', '.join(HELD_OUT_SUBJECTS)}"
    )
    model = train(windows)
    size = export_tflite(model, runtime.MODEL_PATH)
    runtime._shared_model = None  # the runtime picks up the new file
    print(f"wrote {runtime.MODEL_PATH} ({size} bytes)")

    report = evaluate()
    METADATA_PATH.write_text(
        json.dumps(
            {
                "model": runtime.MODEL_PATH.name,
                "dataset": "SisFall v1.0 (Sucerquia et al., Sensors 2017;17(1):198)",
                "input": {
                    "shape": [1, runtime.WINDOW, 3],
                    "rate_hz": runtime.MODEL_RATE_HZ,
                    "seconds_before_impact": runtime.PRE_S,
                    "seconds_after_impact": runtime.POST_S,
                    "channels": [
                        "along_gravity_before_g",
                        "across_gravity_before_g",
                        "magnitude_g",
                    ],
                },
                "seed": SEED,
                "held_out_subjects": list(HELD_OUT_SUBJECTS),
                "early_stopping_subjects": list(EARLY_STOPPING_SUBJECTS),
                "development": report.development.as_dict(),
                "held_out": report.held_out.as_dict(),
            },
            indent=2,
        )
        + "\n"
    )
    for label, value in report.rows():
        print(f"{label:<44} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
