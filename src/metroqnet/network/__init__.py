"""The network: the server's switch schedule (timeslots, pair policies) on a SimPy clock."""

from metroqnet.network.schedule import ScheduleResult, SwitchSchedule, calibration_time_share, run_schedule

__all__ = ["ScheduleResult", "SwitchSchedule", "calibration_time_share", "run_schedule"]
