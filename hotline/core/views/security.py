"""Being written."""
from django.http import HttpResponse
def roles(r): return HttpResponse("")
def user_roles(r, pk): return HttpResponse("")
def permissions(r): return HttpResponse("")
def policy(r): return HttpResponse("")
