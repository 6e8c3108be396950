"""Being written."""
from django.http import HttpResponse
def calendar(r): return HttpResponse("")
def day_set(r): return HttpResponse("")
def day_remove(r, day): return HttpResponse("")
def load_shipped(r): return HttpResponse("")
