"""Being written."""
from django.http import HttpResponse
def account_list(r): return HttpResponse("")
def account_create(r): return HttpResponse("")
def account_detail(r, pk): return HttpResponse("")
def account_action(r, pk, action): return HttpResponse("")
