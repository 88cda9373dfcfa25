"""Model zoo: real layer shapes of standard networks, each a function returning a Workload."""

from workloads.zoo.bert import bert_base
from workloads.zoo.gpt2 import gpt2
from workloads.zoo.llama import llama2_7b, llama2_7b_decode
from workloads.zoo.mobilenet import mobilenet_v1, mobilenet_v2
from workloads.zoo.resnet import resnet18, resnet50
from workloads.zoo.vgg import vgg16
from workloads.zoo.vit import vit_b16

__all__ = [
    "bert_base",
    "gpt2",
    "llama2_7b",
    "llama2_7b_decode",
    "mobilenet_v1",
    "mobilenet_v2",
    "resnet18",
    "resnet50",
    "vgg16",
    "vit_b16",
]
