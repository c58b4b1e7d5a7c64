from anxin.analytics.thresholds import ThresholdDetector
from anxin.config import ThresholdConfig

HIGH = ThresholdConfig(
    observation="heart_rate", kind="heart_rate_high", above=120, clear_margin=5, sustain_s=10
)
LOW = ThresholdConfig(observation="spo2", kind="spo2_low", below=90, clear_margin=2, sustain_s=0)


def feed(
    detector: ThresholdDetector, values: list[float], start_ms: int = 0, step_ms: int = 1000
) -> list[int]:
    """Indexes of the samples at which an alert was raised."""
    return [i for i, v in enumerate(values) if detector.update("hr-1", v, start_ms + i * step_ms)]


def test_raised_only_after_sustained_breach() -> None:
    detector = ThresholdDetector(HIGH)
    assert feed(detector, [100, 125, 126, 127, 128, 129, 130, 131, 132, 133, 134, 135, 136]) == [11]


def test_a_dip_restarts_the_sustain_clock() -> None:
    detector = ThresholdDetector(HIGH)
    values = [125] * 8 + [119] + [125] * 12
    assert feed(detector, values) == [19]


def test_hysteresis_needs_a_clear_recovery_before_raising_again() -> None:
    detector = ThresholdDetector(HIGH)
    raised = feed(detector, [130] * 11 + [118] * 3 + [130] * 11)  # 118 is not 5 below 120
    assert raised == [10]
    detector = ThresholdDetector(HIGH)
    raised = feed(detector, [130] * 11 + [110] * 3 + [130] * 11)
    assert raised == [10, 24]


def test_below_threshold_and_per_device_state() -> None:
    detector = ThresholdDetector(LOW)
    assert detector.update("ox-1", 89, 0) is not None
    assert detector.update("ox-2", 95, 0) is None
    assert detector.update("ox-1", 88, 1000) is None
    crossing = detector.update("ox-2", 85, 1000)
    assert crossing is not None and crossing.threshold == 90 and crossing.device_id == "ox-2"
