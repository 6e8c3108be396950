from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from .api import api

urlpatterns = [
    path("api/", api.urls),
    path("djadmin/", admin.site.urls),
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
    path("", include("hotline.workorders.urls")),
    path("", include("hotline.core.urls")),
    path("", include("hotline.knowledge.urls_authoring")),
    path("", include("hotline.knowledge.urls_corrections")),
    path("", include("hotline.knowledge.urls_search")),
    path("", include("hotline.contact.urls")),
    path("", include("hotline.groups.urls")),
    path("", include("hotline.analytics.urls")),
    path("", include("hotline.telephony.urls")),
]

handler400 = "hotline.web.views.bad_request"
handler403 = "hotline.web.views.forbidden"
handler404 = "hotline.web.views.not_found"
handler500 = "hotline.web.views.server_error"
