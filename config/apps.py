from django.contrib.admin.apps import AdminConfig


class SborAdminConfig(AdminConfig):
    """The Django admin, with a site that only staff with a verified second factor enter
    (``config.admin_site``). Kept apart from the site class: an app config is imported
    while apps load, before the admin's modules can be."""

    default_site = "config.admin_site.SborAdminSite"
