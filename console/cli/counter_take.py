"""``biller-console counter take|void``: cash and check payments and voids from the command line.

``take --account A --amount X --tender cash|check [--check-number N] [--tendered X]`` takes one
payment into the operator's open drawer and posts its Caselle receipt exactly once. JSON:
``receipt`` (Caselle's receipt number; "" while queued), ``amount``, ``tender``, ``change_due``,
``state``, ``key``, ``drawer``.

Split tender and several accounts: ``take --pay A=X [--pay B=Y …] [--cash X [--tendered X]]
[--check NUMBER=X …] [--card X < frame]`` — one transaction; the parts must add up to the
accounts' total; the card part (its reader frame on stdin) is authorized first and a decline
takes nothing; each account gets its own receipt per part; change comes only from cash. JSON:
``status``, ``amount``, ``change_due``, ``receipts`` [{``receipt``, ``account``, ``tender``,
``amount``}].

``return RECEIPT --code R01 [--reason TEXT]``: a supervisor reverses a returned counter check in
Caselle (the ACH-reject path: journaled first, exactly once; the profile's NSF fee).

``refund RECEIPT --reason TEXT``: a supervisor refunds a counter card charge after settlement
(gateway refund by idempotency key, then the Caselle reversal), exactly once.

``void RECEIPT --reason TEXT [--reason-code CODE] [--supervisor ID]`` voids a counter receipt
(the Caselle receipt, then the card charge for a card payment). The reason is the comment;
the code is OTHER unless given. A receipt that is not the cashier's own of today needs
``--supervisor`` (PIN from ``$BILLER_CONSOLE_SUPERVISOR_PIN``).

Exit codes: 0 done; 1 refused or invalid; 2 taken but the receipt is queued or in review; 77 the
role or the PIN refused it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

from console.cli.cash_signin import add_operator_options, refusal_code, signed_in_operator, supervisor_pin
from console.errors import Problem, UserFacingError, ValidationError

EXIT_OK, EXIT_REFUSED, EXIT_QUEUED = 0, 1, 2
VOID_LOOKBACK_DAYS = 31


def register(cmds) -> None:
    take = cmds.add_parser("take", help="take a cash or check payment (needs an open drawer)",
                           description=__doc__)
    take.add_argument("--account", help="the account number")
    take.add_argument("--amount", help="the amount, such as 45.20")
    take.add_argument("--tender", choices=("cash", "check"), help="how it is paid")
    split = take.add_argument_group("split tender / several accounts (instead of --account, --amount, --tender)")
    split.add_argument("--pay", action="append", default=[], metavar="ACCOUNT=AMOUNT",
                       help="an account and what it is paid (repeat for several accounts)")
    split.add_argument("--cash", metavar="AMOUNT", help="the cash part (--tendered: the cash handed over)")
    split.add_argument("--check", action="append", default=[], metavar="NUMBER=AMOUNT",
                       help="a check part: its number and amount (repeatable)")
    split.add_argument("--card", metavar="AMOUNT",
                       help="a card part: the reader's frame is read from stdin; authorized first")
    take.add_argument("--check-number", default="", help="the check's number (check)")
    take.add_argument("--tendered", help="cash handed over (cash): the change due is computed")
    take.add_argument("--confirm", action="store_true",
                      help="confirm an overpayment (also $BILLER_CONSOLE_ASSUME_YES=1)")
    void = cmds.add_parser("void", help="void a counter receipt (cash, check or card)", description=__doc__)
    void.add_argument("receipt", help="Caselle's receipt number")
    void.add_argument("--reason", required=True, help="why (the comment)")
    void.add_argument("--reason-code", default="OTHER", help="a void reason code (default OTHER)")
    ret = cmds.add_parser("return", help="a supervisor reverses a returned (bounced) counter check in Caselle",
                          description=__doc__)
    ret.add_argument("receipt", help="Caselle's receipt number of the check")
    ret.add_argument("--code", default="R01", help="return code: R01 NSF (default), R02, R03, R08, R10, R16")
    ret.add_argument("--reason", default="", help="the bank's reason (free text)")
    ref = cmds.add_parser("refund", help="a supervisor refunds a settled counter card charge and reverses its receipt",
                          description=__doc__)
    ref.add_argument("receipt", help="Caselle's receipt number of the card payment")
    ref.add_argument("--reason", required=True, help="why it is refunded")
    for sp, fn, acting in ((take, cmd_take, "take_payment"), (void, cmd_void, "take_payment"),
                           (ret, cmd_return, "reverse_payment"), (ref, cmd_refund, "reverse_payment")):
        add_operator_options(sp, supervisor=sp is void)
        sp.add_argument("--json", action="store_true", help="print JSON (amounts as decimal strings)")
        sp.set_defaults(func=fn, acting=acting)


def _emit(args, out: dict, code: int, text: str) -> int:
    if args.json:
        print(json.dumps(out, indent=2, default=str))
    elif code in (EXIT_REFUSED, 77):
        print(f"counter: {text}", file=sys.stderr)
    else:
        print(text)
    return code


def _pairs(values: list[str], what: str) -> list[tuple[str, str]]:
    out = []
    for v in values:
        left, sep, right = v.partition("=")
        if not sep or not left.strip() or not right.strip():
            raise ValidationError(f"--{what} {v!r}: write it as {'ACCOUNT' if what == 'pay' else 'NUMBER'}=AMOUNT",
                                  [Problem(None, what, "pair", v)])
        out.append((left.strip(), right.strip()))
    return out


def cmd_split(args) -> int:
    from console.app import build_services
    from console.devices.sred import parse_frame
    from console.services.drawer import parse_money
    from console.services.split_tender import SplitTenderService, TenderPart

    services = build_services(args.profile, operator_id=args.operator)
    try:
        if args.account or args.amount or args.tender:
            raise ValidationError("--pay replaces --account, --amount and --tender",
                                  [Problem(None, "pay", "one_form", "use one form of the command")])
        operator = signed_in_operator(args, services, args.acting)
        services.operators.require(operator, "take_payment")
        counter = services.counter
        accounts = [(counter.account(a), parse_money(x, f"pay {a}")) for a, x in _pairs(args.pay, "pay")]
        parts = [TenderPart("CHECK", parse_money(x, f"check {n}"), check_number=n) for n, x in _pairs(args.check,
                                                                                                     "check")]
        if args.cash:
            parts.append(TenderPart("CASH", parse_money(args.cash, "cash"),
                                    tendered=parse_money(args.tendered, "tendered") if args.tendered else None))
        if args.card:
            parts.append(TenderPart("CARD", parse_money(args.card, "card"), card=parse_frame(sys.stdin.read())))
        confirmed = args.confirm or os.environ.get("BILLER_CONSOLE_ASSUME_YES") == "1"
        result = SplitTenderService(counter).take(accounts, parts, operator, confirmed=confirmed)
    except (UserFacingError, ValueError) as exc:
        return _emit(args, {"status": "refused", "message": str(exc)}, refusal_code(exc), str(exc))
    finally:
        services.close()
    code = {"posted": EXIT_OK, "declined": EXIT_REFUSED}.get(result.status, EXIT_QUEUED)
    return _emit(args, result.as_dict(), code, result.message)


def cmd_take(args) -> int:
    from console.app import build_services

    if args.pay:
        return cmd_split(args)
    if not (args.account and args.amount and args.tender):
        return _emit(args, {"status": "refused", "message": "give --account, --amount and --tender (or --pay)"},
                     EXIT_REFUSED, "give --account, --amount and --tender (or --pay for a split transaction)")

    services = build_services(args.profile, operator_id=args.operator)
    try:
        operator = signed_in_operator(args, services, args.acting)
        services.operators.require(operator, "take_payment")
        account = services.counter.account(args.account.strip())
        confirmed = args.confirm or os.environ.get("BILLER_CONSOLE_ASSUME_YES") == "1"
        result = services.counter.take_other_payment(account, args.amount, args.tender.upper(), operator,
                                                     tendered=args.tendered, check_number=args.check_number,
                                                     confirmed=confirmed)
        entry = services.journal.get(result.key)
    except UserFacingError as exc:
        return _emit(args, {"status": "refused", "message": str(exc), "hint": exc.hint or ""}, refusal_code(exc),
                     str(exc))
    finally:
        services.close()
    p = result.payment
    out = {"status": result.status, "receipt": result.receipt_number, "amount": str(result.amount),
           "tender": p.tender.lower(), "change_due": str(p.change if p.change is not None else "0.00"),
           "tendered": str(p.tendered) if p.tendered is not None else "", "check_number": p.check_number,
           "account": p.account_number, "key": p.key, "state": p.state, "message": result.message}
    out["drawer"] = entry.payload.get("drawer", "") if entry is not None else ""
    return _emit(args, out, EXIT_OK if result.status == "posted" else EXIT_QUEUED, result.message)


def find_by_receipt(counter, receipt: str, today: dt.date):
    for back in range(VOID_LOOKBACK_DAYS):
        for p in counter.todays_payments(today - dt.timedelta(days=back)):
            if p.receipt_number == receipt:
                return p
    return None


def cmd_void(args) -> int:
    from console.app import build_services

    services = build_services(args.profile, operator_id=args.operator)
    try:
        operator = signed_in_operator(args, services, args.acting)
        payment = find_by_receipt(services.counter, args.receipt.strip(), dt.date.today())
        if payment is None:
            raise UserFacingError(f"No counter payment has receipt {args.receipt} (last {VOID_LOOKBACK_DAYS} days)")
        sup, pin = supervisor_pin(args)
        outcome = services.counter.void_counter_payment(payment, args.reason_code.upper(), args.reason, operator,
                                                        supervisor_pin=pin, supervisor_id=sup or None)
    except UserFacingError as exc:
        return _emit(args, {"status": "refused", "message": str(exc), "hint": exc.hint or ""}, refusal_code(exc),
                     str(exc))
    finally:
        services.close()
    out = {"status": "voided" if outcome.complete else "void_pending", "receipt": outcome.receipt_number,
           "amount": str(payment.amount), "tender": payment.tender.lower(), "caselle": outcome.caselle_state,
           "card": outcome.card_state, "message": outcome.message}
    return _emit(args, out, EXIT_OK if outcome.complete else EXIT_QUEUED, outcome.message)


def cmd_return(args) -> int:
    from console.app import build_services

    services = build_services(args.profile, operator_id=args.operator)
    try:
        operator = signed_in_operator(args, services, args.acting)
        out = services.reversals.return_check(args.receipt, args.code, args.reason, operator)
    except UserFacingError as exc:
        return _emit(args, {"status": "refused", "message": str(exc)}, refusal_code(exc), str(exc))
    finally:
        services.close()
    result = {"status": "reversed" if out.done else out.state, "receipt": out.receipt_number,
              "amount": str(out.amount), "check_number": out.check_number, "return_code": out.return_code,
              "nsf_fee": out.nsf_fee, "outcome": out.outcome, "detail": out.detail}
    text = (f"check {out.check_number} (receipt {out.receipt_number}, {out.amount}) reversed in Caselle"
            if out.done else f"the reversal of receipt {out.receipt_number} is {out.state}: {out.detail}")
    return _emit(args, result, EXIT_OK if out.done else EXIT_QUEUED, text)


def cmd_refund(args) -> int:
    from console.app import build_services

    services = build_services(args.profile, operator_id=args.operator)
    try:
        operator = signed_in_operator(args, services, args.acting)
        out = services.reversals.refund_card(args.receipt, args.reason, operator)
    except UserFacingError as exc:
        return _emit(args, {"status": "refused", "message": str(exc)}, refusal_code(exc), str(exc))
    finally:
        services.close()
    result = {"status": "refunded" if out.done else "pending", "receipt": out.receipt_number,
              "amount": str(out.amount), "transaction_id": out.transaction_id, "refund_id": out.refund_id,
              "gateway": out.gateway_state, "caselle": out.caselle_state, "detail": out.detail}
    text = (f"card charge {out.transaction_id} ({out.amount}) refunded and receipt {out.receipt_number} reversed"
            if out.done else f"refund of receipt {out.receipt_number}: gateway {out.gateway_state}, Caselle "
                             f"{out.caselle_state} — run it again to finish")
    return _emit(args, result, EXIT_OK if out.done else EXIT_QUEUED, text)
