"""Being written."""
from django.http import HttpResponse
def org(r): return HttpResponse("")
def unit_detail(r, pk): return HttpResponse("")
