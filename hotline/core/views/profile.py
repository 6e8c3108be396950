"""Being written."""
from django.http import HttpResponse
def profile(r): return HttpResponse("")
def token_create(r): return HttpResponse("")
def token_revoke(r, pk): return HttpResponse("")
