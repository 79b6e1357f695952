from django.apps import AppConfig


class WorkbenchConfig(AppConfig):
    name = "kesu.workbench"
    verbose_name = "Workbench"
