"""The public surface of taskiq_dashboard is exactly its ``__all__``."""

import taskiq_dashboard


def test_all_names_what_the_package_exports() -> None:
    assert sorted(taskiq_dashboard.__all__) == [
        "Credentials",
        "SecurityConfigError",
        "check_bind",
        "dashboard_app",
    ]
    for name in taskiq_dashboard.__all__:
        assert getattr(taskiq_dashboard, name) is not None
