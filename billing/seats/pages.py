"""The page an invitation e-mail links to (``/seats/claim?token=…``): GET shows what the seat gives
(reading has no side effect, so mail scanners that follow links claim nothing); POST claims it and sends
the holder to the customer portal, signed in with the session the claim opened."""

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from billing.portal.sessions import customer_portal_url
from billing.seats import services
from billing.seats.payloads import seat_claim_info_output
from billing.seats.selectors import seat_get_by_invitation_token


@require_http_methods(["GET", "POST"])
def seat_claim_page(request):
    token = (request.POST.get("token") if request.method == "POST" else request.GET.get("token")) or ""
    seat = seat_get_by_invitation_token(token)
    if seat is None:
        return render(request, "seats/claim.html", {"invalid": True}, status=400)
    if request.method == "GET":
        return render(request, "seats/claim.html", {"info": seat_claim_info_output(seat), "token": token})
    try:
        _seat, session_token = services.seat_claim(invitation_token=token)
    except services.InvalidInvitationToken:
        return render(request, "seats/claim.html", {"invalid": True}, status=400)
    return HttpResponseRedirect(customer_portal_url(token=session_token))
