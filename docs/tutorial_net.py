# docs/tutorial_net.py: the network of PyTorch's "Neural Networks" tutorial (beginner/blitz)
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):

    def __init__(self):
        super(Net, self).__init__()
        # 1 input image channel, 6 output channels, 5x5 square convolution kernel
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        # an affine operation: y = Wx + b
        self.fc1 = nn.Linear(16 * 5 * 5, 120)  # 5*5 from image dimension
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, input):
        # convolution C1 (6 channels, 5x5) with ReLU: (N, 6, 28, 28) for a 32 x 32 input
        c1 = F.relu(self.conv1(input))
        # subsampling S2, a 2x2 max pool: (N, 6, 14, 14)
        s2 = F.max_pool2d(c1, (2, 2))
        # convolution C3 (16 channels, 5x5) with ReLU: (N, 16, 10, 10)
        c3 = F.relu(self.conv2(s2))
        # subsampling S4: (N, 16, 5, 5)
        s4 = F.max_pool2d(c3, 2)
        # flatten: (N, 400)
        s4 = torch.flatten(s4, 1)
        # fully connected F5, F6 with ReLU, then the output layer: (N, 120), (N, 84), (N, 10)
        f5 = F.relu(self.fc1(s4))
        f6 = F.relu(self.fc2(f5))
        output = self.fc3(f6)
        return output
