"""Model zoo: real layer shapes of standard networks, each a function returning a Workload."""

from sparsim.workloads.zoo.bert import bert_base
from sparsim.workloads.zoo.gpt2 import gpt2
from sparsim.workloads.zoo.llama import llama2_7b, llama2_7b_decode
from sparsim.workloads.zoo.mobilenet import mobilenet_v1, mobilenet_v2
from sparsim.workloads.zoo.resnet import resnet18, resnet50
from sparsim.workloads.zoo.tinyllama import tinyllama_1b, tinyllama_1b_decode
from sparsim.workloads.zoo.vgg import vgg16
from sparsim.workloads.zoo.vit import vit_b16

__all__ = [
    "bert_base",
    "gpt2",
    "llama2_7b",
    "llama2_7b_decode",
    "mobilenet_v1",
    "mobilenet_v2",
    "resnet18",
    "resnet50",
    "tinyllama_1b",
    "tinyllama_1b_decode",
    "vgg16",
    "vit_b16",
]
