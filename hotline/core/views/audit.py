"""Being written."""
from django.http import HttpResponse
def audit_log(r): return HttpResponse("")
def audit_export(r): return HttpResponse("")
def audit_detail(r, pk): return HttpResponse("")
