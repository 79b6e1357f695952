from django.contrib import admin
from django.urls import include, path

from kesu.api import api
from kesu.health import healthz  # normally answered by kesu.health.HealthCheckMiddleware

urlpatterns = [
    path("healthz", healthz),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language for the header's switch
    path("portal/", include("kesu.portal.urls")),  # the customers' pages (R-AX-3, R-FU-5)
    path("captcha/", include("captcha.urls")),  # captcha images for the portal
    path("capa/", include("kesu.quality.urls")),  # CAPA pages (SPEC section 6)
    path("", include("kesu.workbench.urls")),  # last: the workbench owns the site root
]
